namespace TextClassification.Persistence.Tests.Database;

public sealed class ResourceIdTests
{
    [Fact]
    public void Ids_made_one_after_another_sort_in_creation_order()
    {
        var ids = Enumerable.Range(0, 2000).Select(_ => ResourceId.New(ResourceId.DatasetPrefix)).ToList();

        Assert.Equal(ids, ids.Order(StringComparer.Ordinal).ToList());
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void Ids_have_their_prefix_and_26_base32_characters()
    {
        string id = ResourceId.New(ResourceId.FineTuningJobPrefix);

        Assert.True(ResourceId.IsWellFormed(id, ResourceId.FineTuningJobPrefix));
        Assert.False(ResourceId.IsWellFormed(id, ResourceId.DatasetPrefix));
        Assert.False(ResourceId.IsWellFormed("ftjob_not-an-id", ResourceId.FineTuningJobPrefix));
        Assert.False(ResourceId.IsWellFormed(null, ResourceId.FineTuningJobPrefix));
    }
}
