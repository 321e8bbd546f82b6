using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TextClassification.Api.Security;

/// <summary>
/// Puts the API keys into the OpenAPI document: two security schemes (HTTP bearer and the <c>X-Api-Key</c> header),
/// so Swagger UI's Authorize button takes a key, and on each operation that needs a key the requirement and the
/// scope it needs.
/// </summary>
internal static class OpenApiSecurity
{
    public const string BearerScheme = "bearer";
    public const string HeaderScheme = "api_key";

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (`tcs_…`) as `Authorization: Bearer <key>`.",
            };
            document.Components.SecuritySchemes[HeaderScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "An API key (`tcs_…`) in the `X-Api-Key` header.",
            };
            return Task.CompletedTask;
        });

        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<IAllowAnonymous>().Any() || metadata.OfType<RequiredScopeMetadata>().LastOrDefault() is not { } scope)
            {
                return Task.CompletedTask;
            }

            operation.Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(HeaderScheme, context.Document)] = [] },
            ];
            string needs = $"Needs an API key with {scope.Description}"
                + (scope.Policy == ApiScopes.PredictionsPolicy ? " (or none, with `Security:AllowAnonymousPredictions`)." : ".");
            operation.Description = string.IsNullOrEmpty(operation.Description) ? needs : $"{operation.Description}\n\n{needs}";
            operation.Responses ??= new OpenApiResponses();
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No API key, or one that is not valid, expired or revoked." });
            operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The API key lacks the scope this operation needs." });
            operation.Responses.TryAdd("429", new OpenApiResponse { Description = "The key's rate limit is used up; see Retry-After." });
            return Task.CompletedTask;
        });
    }
}
