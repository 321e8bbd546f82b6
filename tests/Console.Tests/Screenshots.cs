using Microsoft.Playwright;

namespace TextClassification.Console.Tests;

/// <summary>
/// Saves a PNG of a page when <c>CONSOLE_SCREENSHOTS_DIR</c> names a folder (the README's pictures come from
/// <c>CONSOLE_SCREENSHOTS_DIR=docs/console</c>); otherwise does nothing, so CI never writes into the repository.
/// </summary>
internal static class Screenshots
{
    private static readonly string? Directory = Environment.GetEnvironmentVariable("CONSOLE_SCREENSHOTS_DIR");

    public static async Task SaveAsync(IPage page, string name, bool fullPage = false)
    {
        if (string.IsNullOrEmpty(Directory))
        {
            return;
        }

        System.IO.Directory.CreateDirectory(Directory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Directory, name + ".png"), FullPage = fullPage });
    }
}
