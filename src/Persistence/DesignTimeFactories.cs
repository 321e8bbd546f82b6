using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace TextClassification.Persistence;

/// <summary>Lets <c>dotnet ef migrations add</c> build the SQLite context without a running host.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteServiceDbContext>
{
    public SqliteServiceDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<SqliteServiceDbContext>();
        builder.UseSqlite("Data Source=design-time.db");
        return new SqliteServiceDbContext(builder.Options);
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the PostgreSQL context; no connection is opened.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresServiceDbContext>
{
    public PostgresServiceDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<PostgresServiceDbContext>();
        builder.UseNpgsql("Host=localhost;Database=design_time");
        return new PostgresServiceDbContext(builder.Options);
    }
}
