using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hangfire;
using TextClassification.Api.Contracts;
using TextClassification.Api.Problems;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Models;
using TextClassification.Training.Sweeps;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// Turns a <c>POST /v1/fine-tuning/sweeps</c> body into a checked sweep, or refuses it naming the field: the base job
/// is checked exactly as <c>POST /v1/fine-tuning/jobs</c> checks a job (its fields named under <c>job.</c>), and
/// every searched value, at both ends of each range and for each choice, must make a valid job.
/// </summary>
internal sealed class SweepRequests(FineTuningJobRequests jobRequests, JobStorage storage, TimeProvider clock)
{
    public const int MaxTrialsLimit = 1000;
    public const int MaxParallelTrials = 64;
    public const int MaxGridPoints = 1000;
    public const int DefaultSeed = 42;

    public const string Description = """
        Starts a hyperparameter sweep: many fine-tuning jobs (trials) that differ only in the searched hyperparameters.
        `job` is the base job, as `POST /v1/fine-tuning/jobs` takes it. `search_space` maps hyperparameter names
        (epochs, batch_size, learning_rate, weight_decay, dropout, max_sequence_length, warmup_ratio, lr_schedule,
        early_stopping_patience, label_smoothing, embedding_dim, train_layers, probe_epochs, probe_learning_rate) to
        `{"choices": [...]}` or `{"low", "high", "scale": "linear"|"log"}` (whole numbers for integer
        hyperparameters; `points`, grid only: how many evenly spaced values of a range to try). `method`: `grid`
        (every combination, the last parameter changing fastest), `random`, or `tpe` (Tree-structured Parzen
        Estimator, after Optuna: random for the first few trials, then drawn where the best trials so far lie).
        `objective`: `validation_accuracy` (default) or `validation_macro_f1`. Budget: `max_trials` (required
        except for a grid, which defaults to its size and is refused when larger) and `max_wall_time_seconds` (no
        trial starts after it; running ones finish, as with Optuna's timeout).
        `parallel_trials`: by default the number of workers. `seed` (default 42) seeds the suggestions: the same seed
        and the same finished trials give the same parameters. `early_stopping` (successive halving, on by default:
        `min_epochs` 1, `reduction_factor` 3): a trial whose objective at epoch `min_epochs·η^k` trails the top 1/η
        of the trials that reached that epoch is stopped and shown `pruned`. `register`: `best` (default) registers
        only the best trial's model once the sweep ends; `all` registers every succeeded trial's.
        """;

    public static readonly CreateSweepRequest Example = new(
        FineTuningJobRequests.Example with { Hyperparameters = null },
        new Dictionary<string, SearchRangeRequest?>
        {
            ["learning_rate"] = new(0.001, 0.05, "log"),
            ["dropout"] = new(0.0, 0.5),
            ["embedding_dim"] = new(Choices: [JsonSerializer.SerializeToElement(64), JsonSerializer.SerializeToElement(96), JsonSerializer.SerializeToElement(128)]),
        },
        SweepMethods.Tpe,
        SweepObjectives.ValidationAccuracy,
        MaxTrials: 20,
        MaxWallTimeSeconds: 1200,
        ParallelTrials: 1,
        Seed: 7);

    /// <summary>The sweep a request describes, checked, not yet saved.</summary>
    public async Task<HyperparameterSweep> ToSweepAsync(CreateSweepRequest? request, CancellationToken cancellationToken)
    {
        if (request is null)
        {
            throw new RequestValidationException([ProblemError.ForField("body", "Send a JSON object describing the sweep.")]);
        }

        var errors = new List<ProblemError>();
        if (request.Job is null)
        {
            errors.Add(ProblemError.ForField("job", "job is required: the base fine-tuning job, as POST /v1/fine-tuning/jobs takes it."));
        }
        else if (request.Job.DryRun is not null)
        {
            errors.Add(ProblemError.ForField("job.dry_run", "A sweep's base job takes no dry_run."));
        }

        if (request.Method is null)
        {
            errors.Add(ProblemError.ForField("method", $"method is required: {string.Join(", ", SweepMethods.All)}."));
        }
        else if (!SweepMethods.All.Contains(request.Method))
        {
            errors.Add(ProblemError.ForField("method", $"Unknown method '{request.Method}'; use {string.Join(", ", SweepMethods.All)}."));
        }

        string objective = request.Objective ?? SweepObjectives.ValidationAccuracy;
        if (!SweepObjectives.All.Contains(objective))
        {
            errors.Add(ProblemError.ForField("objective", $"Unknown objective '{objective}'; use {string.Join(" or ", SweepObjectives.All)}."));
        }

        var space = SearchSpace(request, errors);
        if (request.MaxTrials is < 1 or > MaxTrialsLimit)
        {
            errors.Add(ProblemError.ForField("max_trials", $"max_trials must be between 1 and {MaxTrialsLimit}."));
        }
        else if (request.MaxTrials is null && request.Method is SweepMethods.Random or SweepMethods.Tpe)
        {
            errors.Add(ProblemError.ForField("max_trials", $"max_trials is required for a {request.Method} sweep."));
        }

        if (request.MaxWallTimeSeconds is < 1 or > 7 * 24 * 3600)
        {
            errors.Add(ProblemError.ForField("max_wall_time_seconds", "max_wall_time_seconds must be between 1 and 604800 (a week)."));
        }

        if (request.ParallelTrials is < 1 or > MaxParallelTrials)
        {
            errors.Add(ProblemError.ForField("parallel_trials", $"parallel_trials must be between 1 and {MaxParallelTrials}."));
        }

        if (request.Register is not (null or "best" or "all"))
        {
            errors.Add(ProblemError.ForField("register", "register must be best or all."));
        }

        var halving = EarlyStopping(request.EarlyStopping, errors);
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        var checkedJob = await CheckJobAsync(request.Job!, cancellationToken);
        var job = checkedJob.Job;
        var template = new SweepJobTemplate(job.Model, job.BaseModel, job.Architecture, job.HyperparametersJson, job.TrainingDatasetId,
            job.ValidationDatasetId, job.ValidationSplit, job.OutOfScopeLabel, job.Quantization);

        // Every value a trial may get must make a valid job: each choice, and both ends of each range.
        var unusable = new List<ProblemError>();
        foreach (var dimension in space)
        {
            string field = $"search_space.{dimension.Name}";
            if (dimension.Name == "embedding_dim" && (job.Architecture != ArchitectureRegistry.NGramBag || job.BaseModel is not null))
            {
                unusable.Add(ProblemError.ForField(field, $"embedding_dim applies to an {ArchitectureRegistry.NGramBag} trained from scratch only."));
                continue;
            }

            var values = dimension.Choices ?? [JsonValue.Create(dimension.Low), JsonValue.Create(dimension.High)];
            foreach (var value in values)
            {
                var problems = template.HyperparametersWith(new Dictionary<string, JsonNode> { [dimension.Name] = IntegerOrAsIs(dimension, value) }).Validate();
                foreach (var problem in problems)
                {
                    unusable.Add(ProblemError.ForField(field, $"{dimension.Name} {value.ToJsonString()}: {problem.Field} {problem.Message}."));
                }
            }
        }

        var sampler = SweepMethods.Create(request.Method!, space, request.Seed ?? DefaultSeed, request.MaxTrials ?? 1);
        if (sampler.Capacity is { } size && request.MaxTrials is { } maxTrials && size > maxTrials)
        {
            unusable.Add(ProblemError.ForField("max_trials", $"The grid has {size} combinations, more than max_trials {maxTrials}: shrink the grid or raise max_trials."));
        }
        else if (sampler.Capacity is > MaxTrialsLimit)
        {
            unusable.Add(ProblemError.ForField("search_space", $"The grid has {sampler.Capacity} combinations; a sweep runs at most {MaxTrialsLimit} trials."));
        }

        if (unusable.Count > 0)
        {
            throw new UnprocessableContentException(unusable[0].Message, unusable);
        }

        var spec = new SweepSpec
        {
            Job = template,
            SearchSpace = space,
            Method = request.Method!,
            Objective = objective,
            MaxTrials = request.MaxTrials ?? (int)sampler.Capacity!.Value,
            MaxWallTimeSeconds = request.MaxWallTimeSeconds,
            ParallelTrials = request.ParallelTrials ?? Workers(),
            Seed = request.Seed ?? DefaultSeed,
            RegisterAll = request.Register == "all",
            EarlyStopping = halving,
        };
        return new HyperparameterSweep
        {
            Id = ResourceId.New(ResourceId.SweepPrefix, clock),
            Model = job.Model,
            Method = spec.Method,
            SpecJson = spec.ToJson(),
            CreatedAt = clock.GetUtcNow(),
        };
    }

    /// <summary>The base job checked as a job; its problems name their fields under <c>job.</c>.</summary>
    private async Task<CheckedJob> CheckJobAsync(CreateFineTuningJobRequest job, CancellationToken cancellationToken)
    {
        try
        {
            return await jobRequests.ToJobAsync(job, cancellationToken);
        }
        catch (ApiProblemException e)
        {
            var errors = e.Errors.Select(error => error with { Field = error.Field is null ? "job" : $"job.{error.Field}" }).ToList();
            throw new ApiProblemException(e.Status, e.Title, e.Message, errors);
        }
    }

    /// <summary>As many trials at once as the workers that share this service's queue can run: the sum of their Hangfire workers.</summary>
    private int Workers()
    {
        long workers = storage.GetMonitoringApi().Servers().Sum(s => (long)s.WorkersCount);
        return (int)Math.Clamp(workers, 1, MaxParallelTrials);
    }

    private static List<SearchDimension> SearchSpace(CreateSweepRequest request, List<ProblemError> errors)
    {
        var space = new List<SearchDimension>();
        if (request.SearchSpace is null || request.SearchSpace.Count == 0)
        {
            errors.Add(ProblemError.ForField("search_space", "search_space must name at least one hyperparameter to search."));
            return space;
        }

        bool grid = request.Method == SweepMethods.Grid;
        foreach (var (name, range) in request.SearchSpace)
        {
            string field = $"search_space.{name}";
            if (!SearchableHyperparameters.TryGetKind(name, out var kind))
            {
                errors.Add(ProblemError.ForField(field, $"'{name}' is not a hyperparameter a sweep can search; use one of: {string.Join(", ", SearchableHyperparameters.Names)}."));
                continue;
            }

            if (range is null)
            {
                errors.Add(ProblemError.ForField(field, $"{name} needs choices or a low and a high."));
                continue;
            }

            if (range.Choices is { } choices)
            {
                if (range.Low is not null || range.High is not null || range.Scale is not null || range.Points is not null)
                {
                    errors.Add(ProblemError.ForField(field, $"{name}: give choices or a range (low, high, scale, points), not both."));
                }
                else if (choices.Count == 0)
                {
                    errors.Add(ProblemError.ForField($"{field}.choices", $"{name}: choices must not be empty."));
                }
                else if (choices.FirstOrDefault(c => !ChoiceFits(kind, c)) is { ValueKind: not JsonValueKind.Undefined } wrong)
                {
                    errors.Add(ProblemError.ForField($"{field}.choices", $"{name}: {wrong.GetRawText()} is not {(kind == ParameterKind.Categorical ? "a name" : kind == ParameterKind.Int ? "a whole number" : "a number")}."));
                }
                else
                {
                    space.Add(new SearchDimension { Name = name, Kind = ParameterKind.Categorical, Choices = choices.Select(c => JsonNode.Parse(c.GetRawText())!).ToList() });
                }

                continue;
            }

            if (kind == ParameterKind.Categorical)
            {
                errors.Add(ProblemError.ForField($"{field}.choices", $"{name} takes choices, not a range."));
                continue;
            }

            int before = errors.Count;
            if (range.Low is not { } low || !double.IsFinite(low))
            {
                errors.Add(ProblemError.ForField($"{field}.low", $"{name}: low is required (or give choices)."));
            }

            if (range.High is not { } high || !double.IsFinite(high))
            {
                errors.Add(ProblemError.ForField($"{field}.high", $"{name}: high is required (or give choices)."));
            }

            if (errors.Count > before)
            {
                continue;
            }

            low = range.Low!.Value;
            high = range.High!.Value;
            if (low > high)
            {
                errors.Add(ProblemError.ForField($"{field}.low", $"{name}: low {Format(low)} is greater than high {Format(high)}."));
            }

            if (range.Scale is not (null or "linear" or "log"))
            {
                errors.Add(ProblemError.ForField($"{field}.scale", $"{name}: scale must be linear or log."));
            }
            else if (range.Scale == "log" && low <= 0)
            {
                errors.Add(ProblemError.ForField($"{field}.low", $"{name}: a log scale needs low greater than 0."));
            }

            if (kind == ParameterKind.Int && (low != Math.Floor(low) || high != Math.Floor(high) || Math.Abs(low) > 1e6 || Math.Abs(high) > 1e6))
            {
                errors.Add(ProblemError.ForField(field, $"{name} is a whole number: low and high must be whole numbers of at most a million."));
            }

            if (range.Points is { } points)
            {
                if (!grid)
                {
                    errors.Add(ProblemError.ForField($"{field}.points", $"{name}: points applies to grid sweeps only."));
                }
                else if (points is < 1 or > MaxGridPoints)
                {
                    errors.Add(ProblemError.ForField($"{field}.points", $"{name}: points must be between 1 and {MaxGridPoints}."));
                }
            }
            else if (grid && kind == ParameterKind.Float)
            {
                errors.Add(ProblemError.ForField($"{field}.points", $"{name}: a grid sweep needs points, the number of values of the range to try (or give choices)."));
            }
            else if (grid && high - low + 1 > MaxGridPoints)
            {
                errors.Add(ProblemError.ForField($"{field}.points", $"{name}: the range holds more than {MaxGridPoints} whole numbers; give points or choices."));
            }

            if (errors.Count == before)
            {
                space.Add(new SearchDimension { Name = name, Kind = kind, Low = low, High = high, Log = range.Scale == "log", Points = range.Points });
            }
        }

        return space;
    }

    private static SuccessiveHalving? EarlyStopping(EarlyStoppingRequest? request, List<ProblemError> errors)
    {
        if (request?.Enabled == false)
        {
            return null;
        }

        var halving = new SuccessiveHalving(request?.MinEpochs ?? SuccessiveHalving.Default.MinEpochs, request?.ReductionFactor ?? SuccessiveHalving.Default.ReductionFactor);
        if (halving.MinEpochs is < 1 or > 1000)
        {
            errors.Add(ProblemError.ForField("early_stopping.min_epochs", "early_stopping.min_epochs must be between 1 and 1000."));
        }

        if (halving.ReductionFactor is < 2 or > 10)
        {
            errors.Add(ProblemError.ForField("early_stopping.reduction_factor", "early_stopping.reduction_factor must be between 2 and 10."));
        }

        return halving;
    }

    private static bool ChoiceFits(ParameterKind kind, JsonElement choice) => kind switch
    {
        ParameterKind.Categorical => choice.ValueKind == JsonValueKind.String,
        ParameterKind.Int => choice.ValueKind == JsonValueKind.Number && choice.TryGetInt32(out _),
        _ => choice.ValueKind == JsonValueKind.Number && double.IsFinite(choice.GetDouble()),
    };

    /// <summary>A range's end as the hyperparameter's type holds it (a whole number for an integer one).</summary>
    private static JsonNode IntegerOrAsIs(SearchDimension dimension, JsonNode value) =>
        dimension.Kind == ParameterKind.Int && dimension.IsRange ? JsonValue.Create((int)double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture)) : value.DeepClone();

    private static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
