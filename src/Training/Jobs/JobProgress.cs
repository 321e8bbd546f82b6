namespace TextClassification.Training.Jobs;

/// <summary>Where a running job is, as stored on its row and shown by the API.</summary>
public sealed record JobProgress(int Epoch, int Epochs, long Step, long TotalSteps, double Fraction, double? EtaSeconds);

/// <summary>The latest training and validation figures of a job.</summary>
public sealed record JobMetrics(
    double? TrainLoss,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double? ValidationMacroF1);
