using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using TextClassification.Api.Endpoints;
using TextClassification.Inference;
using TextClassification.Training.BaseModels;
using TextClassification.Api.Problems;

namespace TextClassification.Api.Security;

/// <summary>Which body limit an endpoint has; endpoints that name none get <see cref="Json"/>.</summary>
internal enum RequestBodyLimit
{
    /// <summary><c>Security:MaxJsonBodyBytes</c> (1 MiB by default).</summary>
    Json,

    /// <summary>
    /// Room for <c>Inference:MaxInputsPerRequest</c> texts of <c>Inference:MaxTextLength</c> characters each, at six
    /// bytes a character (a client that escapes everything as <c>\uXXXX</c>, as Python's json does by default), plus 64 KiB.
    /// </summary>
    Predictions,

    /// <summary><c>Datasets:MaxUploadBytes</c> plus 1 MiB for the form's other parts.</summary>
    DatasetUpload,

    /// <summary><c>BaseModels:MaxUploadBytes</c> plus 1 MiB for the form's other parts.</summary>
    BaseModelUpload,
}

/// <summary>
/// Refuses a request body larger than its endpoint's limit with 413 before the endpoint reads it: at once when
/// Content-Length says so, otherwise when the server has read past the limit (Kestrel enforces the size set here).
/// Runs after authorization, so a caller without the right key learns nothing about the endpoint.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<SecurityOptions> security, IOptions<InferenceOptions> inference, IOptions<DatasetsOptions> datasets, IOptions<BaseModelsOptions> baseModels)
{
    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<RequiredScopeMetadata>() is null)
        {
            return next(context);
        }

        long limit = LimitOf(endpoint.Metadata.GetMetadata<RequestBodyLimitMetadata>()?.Limit ?? RequestBodyLimit.Json);
        if (context.Request.ContentLength > limit)
        {
            return ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "The request body is too large.",
                $"The body is {context.Request.ContentLength} bytes; this endpoint accepts at most {limit}.");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        return next(context);
    }

    // The limits depend only on options, which this singleton middleware reads once.
    private readonly long predictionsLimit = (long)inference.Value.MaxInputsPerRequest * ((inference.Value.MaxTextLength * 6L) + 8) + (64 << 10);
    private readonly long datasetUploadLimit = datasets.Value.MaxUploadBytes + (1 << 20);
    private readonly long baseModelUploadLimit = baseModels.Value.MaxUploadBytes + (1 << 20);
    private readonly long jsonLimit = security.Value.MaxJsonBodyBytes;

    private long LimitOf(RequestBodyLimit kind) => kind switch
    {
        RequestBodyLimit.Predictions => predictionsLimit,
        RequestBodyLimit.DatasetUpload => datasetUploadLimit,
        RequestBodyLimit.BaseModelUpload => baseModelUploadLimit,
        _ => jsonLimit,
    };
}

internal sealed record RequestBodyLimitMetadata(RequestBodyLimit Limit);

internal static class RequestBodyLimitExtensions
{
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, RequestBodyLimit limit)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestBodyLimitMetadata(limit));
}
