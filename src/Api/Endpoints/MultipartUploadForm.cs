using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using TextClassification.Api.Problems;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// The multipart body of an upload (<c>POST /v1/datasets</c>, <c>POST /v1/base-models</c>), read as a stream: the
/// file part goes straight to a temporary file (never whole into memory) while its size is counted against the limit,
/// and the small text fields the endpoint knows are collected. Parts may come in any order, which is why the file is
/// spooled before it is parsed with the fields' settings.
/// </summary>
internal sealed class MultipartUploadForm : IAsyncDisposable
{
    private const int MaxFieldLength = 1024;

    private MultipartUploadForm(string filePath, string? fileName, long fileBytes, Dictionary<string, string> fields)
    {
        FilePath = filePath;
        FileName = fileName;
        FileBytes = fileBytes;
        Fields = fields;
    }

    /// <summary>The spooled upload; deleted when the form is disposed.</summary>
    public string FilePath { get; }

    /// <summary>The client's name for the file, if it sent one.</summary>
    public string? FileName { get; }

    public long FileBytes { get; }

    public IReadOnlyDictionary<string, string> Fields { get; }

    /// <param name="request">The request whose body is the form.</param>
    /// <param name="what">What the file is, for messages ("the dataset").</param>
    /// <param name="knownFields">The text fields the endpoint reads; other parts are skipped.</param>
    /// <param name="maxFileBytes">The file part's limit (413 past it).</param>
    /// <param name="limitSetting">The setting that sets it, for the 413's message.</param>
    /// <param name="spoolDirectory">Where the file is spooled.</param>
    /// <param name="cancellationToken">Aborts the read.</param>
    public static async Task<MultipartUploadForm> ReadAsync(
        HttpRequest request, string what, IReadOnlySet<string> knownFields, long maxFileBytes, string limitSetting, string spoolDirectory, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            throw new UnsupportedMediaTypeException(
                $"Send {what} as multipart/form-data with the file in a part named 'file'.");
        }

        string boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value ?? string.Empty;
        if (boundary.Length == 0)
        {
            throw new RequestValidationException([ProblemError.ForField("Content-Type", "The multipart boundary is missing.")]);
        }

        // The body limit (the file limit plus room for the other parts) is set by RequestBodyLimitMiddleware; the file
        // itself is counted exactly below.
        var reader = new MultipartReader(boundary, request.Body) { HeadersLengthLimit = 16 * 1024 };
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        string? filePath = null;
        string? fileName = null;
        long fileBytes = 0;
        try
        {
            while (await FromRequestAsync(() => reader.ReadNextSectionAsync(cancellationToken)) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                string name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? string.Empty;
                if (name == "file")
                {
                    if (filePath is not null)
                    {
                        throw new RequestValidationException([ProblemError.ForField("file", "Send exactly one file.")]);
                    }

                    fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value
                        ?? HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
                    Directory.CreateDirectory(spoolDirectory);
                    filePath = Path.Combine(spoolDirectory, $"upload-{Guid.NewGuid():N}.tmp");
                    fileBytes = await SpoolAsync(section.Body, filePath, maxFileBytes, limitSetting, cancellationToken);
                }
                else if (knownFields.Contains(name))
                {
                    fields[name] = await ReadFieldAsync(section.Body, name, cancellationToken);
                }
            }
        }
        catch
        {
            if (filePath is not null)
            {
                File.Delete(filePath);
            }

            throw;
        }

        if (filePath is null)
        {
            throw new RequestValidationException([ProblemError.ForField("file", "The 'file' part is required.")]);
        }

        return new MultipartUploadForm(filePath, fileName, fileBytes, fields);
    }

    public string? Text(string field) => Fields.TryGetValue(field, out var value) && value.Length > 0 ? value : null;

    /// <summary>Reads a boolean field ("true"/"false", "1"/"0", "yes"/"no", "on"/"off"), adding an error if it is none.</summary>
    public bool Flag(string field, bool fallback, List<ProblemError> errors)
    {
        string? value = Text(field)?.Trim().ToLowerInvariant();
        switch (value)
        {
            case null:
                return fallback;
            case "true" or "1" or "yes" or "on":
                return true;
            case "false" or "0" or "no" or "off":
                return false;
            default:
                errors.Add(ProblemError.ForField(field, $"'{value}' is not a boolean; use true or false."));
                return fallback;
        }
    }

    /// <summary>
    /// Describes a form in the OpenAPI document. The handler reads the body itself (to stream it), so the framework
    /// cannot infer the form; declaring it with Accepts would also make routing refuse other media types with a bare
    /// 415 before the handler can say what it expects.
    /// </summary>
    /// <param name="description">What the body is.</param>
    /// <param name="file">What the file part holds.</param>
    /// <param name="fields">The text fields: name, JSON type, description and an example.</param>
    public static Func<OpenApiOperation, OpenApiOperationTransformerContext, CancellationToken, Task> Describe(
        string description, string file, params (string Name, JsonSchemaType Type, string Description, JsonNode Example)[] fields) =>
        (operation, _, _) =>
        {
            var properties = new Dictionary<string, IOpenApiSchema>
            {
                ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = file },
            };
            foreach (var field in fields)
            {
                properties[field.Name] = new OpenApiSchema { Type = field.Type, Description = field.Description, Examples = [field.Example] };
            }

            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["multipart/form-data"] = new()
                    {
                        Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Required = new HashSet<string> { "file" },
                            Properties = properties,
                        },
                    },
                },
            };
            return Task.CompletedTask;
        };

    public ValueTask DisposeAsync()
    {
        File.Delete(FilePath);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Runs one read of the request body. The multipart reader reports a body it cannot parse (part headers over the
    /// limit, a body that ends before its closing boundary) as InvalidDataException or IOException: the caller's
    /// mistake, answered 400, not a server fault. Kestrel's own refusals (BadHttpRequestException, such as 413) and
    /// failures writing the spool file are left as they are.
    /// </summary>
    private static async Task<T> FromRequestAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not BadHttpRequestException)
        {
            throw new RequestValidationException([ProblemError.ForField("body", $"The multipart body is malformed: {e.Message}")]);
        }
    }

    private static async Task<long> SpoolAsync(Stream source, string path, long maxBytes, string limitSetting, CancellationToken cancellationToken)
    {
        await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long total = 0;
            int read;
            while ((read = await FromRequestAsync(() => source.ReadAsync(buffer, cancellationToken).AsTask())) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    throw new PayloadTooLargeException(maxBytes, limitSetting);
                }

                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<string> ReadFieldAsync(Stream body, string name, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
        char[] buffer = new char[MaxFieldLength + 1];
        int length = await FromRequestAsync(() => reader.ReadBlockAsync(buffer.AsMemory(), cancellationToken).AsTask());
        if (length > MaxFieldLength)
        {
            throw new RequestValidationException([ProblemError.ForField(name, $"The field is longer than {MaxFieldLength} characters.")]);
        }

        return new string(buffer, 0, length);
    }
}
