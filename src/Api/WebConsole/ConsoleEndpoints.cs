using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace TextClassification.Api.WebConsole;

/// <summary>
/// The web console: plain HTML, CSS and JavaScript modules embedded in this assembly (<c>WebConsole/Assets</c>), served
/// at <c>/console</c> to anyone, with <c>/</c> redirecting there. The files hold no data and no secret: the console is a
/// client of the public API, and every page it shows is an API call made with the key the user typed, so only the
/// calls need authorization, never the files.
/// </summary>
internal static class ConsoleEndpoints
{
    public const string BasePath = "/console";

    /// <summary>
    /// Nothing but this origin's own files and API: no inline script or style, no plugins, no framing, no form posts
    /// elsewhere. Charts are drawn as SVG and on canvas; <c>data:</c> and <c>blob:</c> images cover the favicon and
    /// canvas exports.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        + "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder app)
    {
        var files = ConsoleFile.LoadAll();
        app.MapGet("/", (HttpContext context) => Redirect(context))
            .AllowAnonymous()
            .ExcludeFromDescription();
        // The catch-all matches /console too; that one is redirected so that the page's relative URLs resolve under /console/.
        app.MapGet(BasePath + "/{**path}", (string? path, HttpContext context) =>
                string.IsNullOrEmpty(path) && !context.Request.Path.Value!.EndsWith('/') ? Redirect(context) : Serve(files, path, context))
            .AllowAnonymous()
            .ExcludeFromDescription();
        return app;
    }

    private static IResult Redirect(HttpContext context)
    {
        AddSecurityHeaders(context.Response);
        return TypedResults.Redirect(BasePath + "/");
    }

    private static IResult Serve(FrozenDictionary<string, ConsoleFile> files, string? path, HttpContext context)
    {
        // Every answer under /console carries the headers, a 404 included: a browser renders whatever comes back.
        var response = context.Response;
        AddSecurityHeaders(response);
        if (!files.TryGetValue(string.IsNullOrEmpty(path) ? "index.html" : path, out var file))
        {
            return TypedResults.NotFound();
        }

        // Always revalidate: a deployment changes the files under the same names, and the ETag makes revalidating cheap.
        response.Headers.CacheControl = "no-cache";
        response.Headers.ETag = file.ETag;
        if (context.Request.Headers.IfNoneMatch.Contains(file.ETag))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(file.Content, file.ContentType);
    }

    private static void AddSecurityHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";
    }
}

/// <summary>One embedded console file, read once at start-up with its content type and a strong ETag of its bytes.</summary>
internal sealed record ConsoleFile(byte[] Content, string ContentType, string ETag)
{
    /// <summary>The resource names' prefix, set by <c>LogicalName</c> in Api.csproj.</summary>
    private const string ResourcePrefix = "console/";

    /// <summary>Every embedded console file by its path under <c>/console/</c>.</summary>
    public static FrozenDictionary<string, ConsoleFile> LoadAll()
    {
        var assembly = typeof(ConsoleFile).Assembly;
        var types = new FileExtensionContentTypeProvider();
        var files = new Dictionary<string, ConsoleFile>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            string path = name[ResourcePrefix.Length..].Replace('\\', '/');
            byte[] content = Read(assembly, name);
            string type = types.TryGetContentType(path, out string? known) ? known : "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal) || type.EndsWith("javascript", StringComparison.Ordinal) || type.EndsWith("json", StringComparison.Ordinal))
            {
                type += "; charset=utf-8";
            }

            string etag = new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..32] + "\"").ToString();
            files[path] = new ConsoleFile(content, type, etag);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
