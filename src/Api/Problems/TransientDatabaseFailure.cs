using System.Data.Common;

namespace TextClassification.Api.Problems;

/// <summary>
/// Recognises the database being unreachable or busy (the provider marks such errors transient; EF Core may wrap
/// them). Those are answered 503 with Retry-After, as a load balancer and a client expect of a dependency outage,
/// rather than 500, which says the request itself broke something.
/// </summary>
internal static class TransientDatabaseFailure
{
    public static DbException? Find(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is DbException { IsTransient: true } database)
            {
                return database;
            }
        }

        return null;
    }
}
