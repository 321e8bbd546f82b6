using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TextClassification.Api.Hosting;

/// <summary>Attaches worked examples to an operation's OpenAPI description, so Swagger UI shows a real call.</summary>
internal static class OpenApiExampleExtensions
{
    private static readonly JsonSerializerOptions Json = CreateJsonOptions();

    /// <summary>Sets the example of the JSON response with <paramref name="status"/>.</summary>
    public static RouteHandlerBuilder WithResponseExample(this RouteHandlerBuilder builder, int status, object example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.TryGetValue(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response) == true
                && response.Content is not null)
            {
                foreach (var media in response.Content.Values)
                {
                    media.Example = JsonSerializer.SerializeToNode(example, Json);
                }
            }

            return Task.CompletedTask;
        });

    /// <summary>Sets the example of the JSON request body.</summary>
    public static RouteHandlerBuilder WithRequestExample(this RouteHandlerBuilder builder, object example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.RequestBody?.Content is { } content)
            {
                foreach (var media in content.Values)
                {
                    media.Example = JsonSerializer.SerializeToNode(example, Json);
                }
            }

            return Task.CompletedTask;
        });

    /// <summary>Describes a parameter and gives it an example value.</summary>
    public static RouteHandlerBuilder WithParameterExample(this RouteHandlerBuilder builder, string name, string description, object example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            foreach (var parameter in operation.Parameters ?? [])
            {
                if (parameter is OpenApiParameter concrete && concrete.Name == name)
                {
                    concrete.Description = description;
                    concrete.Example = JsonValue.Create(example is string s ? s : JsonSerializer.Serialize(example, Json));
                }
            }

            return Task.CompletedTask;
        });

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        ApiHostExtensions.ConfigureJson(options);
        return options;
    }
}
