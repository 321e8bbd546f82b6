using TextClassification.Api.Problems;

namespace TextClassification.Api.Endpoints;

internal static class Paging
{
    /// <summary>The page size a list endpoint uses: the default when absent, an error naming <c>limit</c> when out of range.</summary>
    public static int ValidateLimit(int? limit, int fallback, int maximum)
    {
        if (limit is null)
        {
            return fallback;
        }

        if (limit < 1 || limit > maximum)
        {
            throw new RequestValidationException([ProblemError.ForField("limit", $"The limit must be between 1 and {maximum}.")]);
        }

        return limit.Value;
    }
}
