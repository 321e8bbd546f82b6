using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Data.Augmentation;
using TextClassification.Training.Distillation;
using TextClassification.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextClassification.Training.Loop;

/// <summary>
/// Fine-tunes a text classifier: set up (fresh, resumed or transferred), train epoch by epoch with AdamW, warm-up and
/// decay, clipping, label smoothing and class weights, validate and checkpoint after every epoch, stop early on
/// validation macro-F1, then keep the best weights and choose the out-of-scope threshold.
/// </summary>
/// <remarks>
/// <para>Repeatability: with the same request and the same CPU thread count, a CPU run is identical bit for bit,
/// whatever else the process does. Every random draw comes from a generator the run owns: weights are initialised
/// from it seeded with <c>seed</c>; epoch <c>e</c> (0-based) reseeds it with <c>seed + e</c> (dropout) and shuffles
/// with <c>System.Random</c> seeded from <c>(seed, e)</c>. Nothing random crosses an epoch boundary, which is why a
/// checkpoint needs no generator state to resume exactly. Torch's process-wide generator is never used: anything
/// else in the process (another host's worker, an export building a module) may draw from it at any time.
/// With <c>augmentation</c> on, an epoch also trains on variants of the training texts, made at its start from a
/// generator of their own (<see cref="TextAugmentation.EpochSeed"/>); a run without it draws exactly as before.</para>
/// <para>Memory: every batch runs in its own dispose scope, and the only tensors that outlive it are the weights and
/// AdamW's moments (updated in place, see <see cref="InPlaceAdamW"/>); everything else a run keeps is managed arrays.
/// The module and optimizer are disposed when the call returns, so runs one after another in one process do not
/// accumulate.</para>
/// <para>Cancellation is checked before every batch (training and validation), a few milliseconds apart.</para>
/// </remarks>
public static class Trainer
{
    private const double MaxGradientNorm = 1.0;

    public static TrainingResult Train(TrainingRequest request, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        var plan = Plan.Make(request);
        using var run = new Run(plan, request.Device ?? CPU, observer);
        run.Initialise(request.Resume, request.BaseModel, request.Pretrained);
        if (request.Resume is null && request.Pretrained is not null)
        {
            run.ProbeHead(cancellationToken);
        }

        int epochs = plan.Hyperparameters.Epochs;
        bool stoppedEarly = false;
        while (!run.Finished)
        {
            var metrics = run.TrainEpoch(observer, cancellationToken);
            observer?.OnEpoch(metrics);
            stoppedEarly = run.Finished && run.EpochsCompleted < epochs;
            if (observer is not null)
            {
                observer.OnCheckpoint(run.Checkpoint());
            }
        }

        stoppedEarly |= request.Resume?.Finished == true && request.Resume.EpochsCompleted < epochs;
        var (model, evaluation) = run.Finish(request.ThresholdObjective, cancellationToken);
        return new TrainingResult(model, evaluation, run.EpochsCompleted, run.BestEpoch, stoppedEarly, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Seeds the shuffle of one epoch: a fixed function of the run's seed and the epoch.</summary>
    internal static int ShuffleSeed(int seed, int epoch) => unchecked(seed ^ (int)((uint)(epoch + 1) * 0x9E3779B1u));

    /// <summary>Everything decided before any tensor exists: data, labels, tokenizer, shape.</summary>
    private sealed record Plan(
        ModelArchitecture Architecture,
        Hyperparameters Hyperparameters,
        TokenizerDefinition Tokenizer,
        ModelConfig Config,
        IReadOnlyList<string> Labels,
        string? OutOfScopeLabel,
        IReadOnlyList<string> TrainTexts,
        int[] TrainTargets,
        float[]? TeacherLogits,
        IReadOnlyList<LabelledText> Validation,
        string DataFingerprint,
        float[]? WordVectors)
    {
        public static Plan Make(TrainingRequest request)
        {
            var resume = request.Resume;
            var hyperparameters = resume?.Hyperparameters ?? request.Hyperparameters
                ?? throw new TrainingRequestException("Hyperparameters are required.");
            var errors = hyperparameters.Validate();
            if (errors.Count > 0)
            {
                throw new TrainingRequestException($"Invalid hyperparameters: {string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}"))}.");
            }

            if (!ArchitectureRegistry.TryGet(request.Architecture, out var architecture))
            {
                throw new TrainingRequestException($"Unknown architecture \"{request.Architecture}\"; known: {string.Join(", ", ArchitectureRegistry.All.Select(a => a.Name))}.");
            }

            string? outOfScope = request.OutOfScopeLabel;
            var inScope = request.Train.Where(row => row.Label != outOfScope).ToList();
            var labels = inScope.Select(row => row.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
            if (labels.Length < 2)
            {
                throw new TrainingRequestException($"Training needs rows of at least two labels (besides the out-of-scope label); it has {labels.Length}.");
            }

            var index = Scoring.Index(labels);
            var unknown = request.Validation.Select(row => row.Label).Where(label => label != outOfScope && !index.ContainsKey(label)).Distinct().Take(5).ToList();
            if (unknown.Count > 0)
            {
                throw new TrainingRequestException($"Validation rows have labels the training rows lack: {string.Join(", ", unknown)}.");
            }

            // A distilling run also trains on its teacher's verdicts over texts without a label: the out-of-scope
            // training rows and the unlabelled texts (those the labelled rows already hold are not repeated).
            var trainTexts = inScope.Select(row => row.Text).ToList();
            var trainTargets = inScope.Select(row => index[row.Label]).ToList();
            float[]? teacherLogits = null;
            if (request.Teacher is { } teacher)
            {
                var seen = new HashSet<string>(trainTexts, StringComparer.Ordinal);
                foreach (string text in request.Train.Where(row => row.Label == outOfScope).Select(row => row.Text).Concat(teacher.UnlabelledTexts))
                {
                    if (seen.Add(text))
                    {
                        trainTexts.Add(text);
                        trainTargets.Add(DistillationLoss.NoLabel);
                    }
                }

                teacherLogits = teacher.LogitsFor(trainTexts, labels);
            }

            string fingerprint = Fingerprint(request.Train, request.Validation, outOfScope, request.Teacher is null ? null : (trainTexts, teacherLogits!));
            TokenizerDefinition tokenizer;
            ModelConfig config;
            float[]? wordVectors = null;
            if (hyperparameters.WordVectors is { } wordVectorSource && resume is null && request.BaseModel is null
                && request.WordVectors?.Source != wordVectorSource)
            {
                throw new TrainingRequestException($"word_vectors names {wordVectorSource}, but the run was given {(request.WordVectors is null ? "no vectors" : $"those of {request.WordVectors.Source}")}.");
            }

            if (resume is not null)
            {
                if (resume.Architecture != architecture.Name || resume.DataFingerprint != fingerprint || !resume.Labels.SequenceEqual(labels) || resume.OutOfScopeLabel != outOfScope)
                {
                    throw new TrainingRequestException("The checkpoint belongs to a run with another architecture, other data or another out-of-scope label; it cannot be resumed with this request.");
                }

                if (resume.OptimizerState is null)
                {
                    throw new TrainingRequestException("The checkpoint is a final model without optimizer state; use it as a base model instead.");
                }

                tokenizer = resume.Tokenizer;
                config = resume.ModelConfig;
            }
            else if (request.BaseModel is { } baseModel)
            {
                if (baseModel.Architecture != architecture.Name)
                {
                    throw new TrainingRequestException($"The base model is a {baseModel.Architecture} model; this run asks for {architecture.Name}.");
                }

                if (baseModel.ModelConfig is TransformerConfig transformer && hyperparameters.MaxSequenceLength > transformer.MaxPositions)
                {
                    throw new TrainingRequestException($"max_sequence_length {hyperparameters.MaxSequenceLength} exceeds the base model's {transformer.MaxPositions} positions.");
                }

                tokenizer = baseModel.Tokenizer with { Settings = baseModel.Tokenizer.Settings with { MaxSequenceLength = hyperparameters.MaxSequenceLength } };
                config = baseModel.ModelConfig with { LabelCount = labels.Length, Dropout = hyperparameters.Dropout };
            }
            else if (request.Pretrained is { } pretrained)
            {
                if (architecture.Name != ArchitectureRegistry.Bert)
                {
                    throw new TrainingRequestException($"The pretrained encoder {pretrained.Id} is a {ArchitectureRegistry.Bert} model; this run asks for {architecture.Name}.");
                }

                if (hyperparameters.MaxSequenceLength > pretrained.Config.MaxPositions)
                {
                    throw new TrainingRequestException($"max_sequence_length {hyperparameters.MaxSequenceLength} exceeds the {pretrained.Id} encoder's {pretrained.Config.MaxPositions} positions.");
                }

                tokenizer = pretrained.Tokenizer with { Settings = pretrained.Tokenizer.Settings with { MaxSequenceLength = hyperparameters.MaxSequenceLength } };
                config = pretrained.Config with { LabelCount = labels.Length, Dropout = hyperparameters.Dropout };
            }
            else if (architecture.Name == ArchitectureRegistry.Bert)
            {
                throw new TrainingRequestException($"A {ArchitectureRegistry.Bert} model is fine-tuned from a pretrained encoder; name one as the base model.");
            }
            else
            {
                var settings = (request.Tokenizer ?? architecture.DefaultTokenizer) with { MaxSequenceLength = hyperparameters.MaxSequenceLength };
                var settingsErrors = settings.Validate();
                if (settingsErrors.Count > 0)
                {
                    throw new TrainingRequestException($"Invalid tokenizer settings: {string.Join("; ", settingsErrors.Select(e => $"{e.Field} {e.Message}"))}.");
                }

                // Every text the run trains on, unlabelled ones included: the teacher labels their n-grams too. With
                // word vectors, their words follow the learned ones, so that words the texts lack have theirs.
                var vectors = hyperparameters.WordVectors is null ? null : request.WordVectors;
                if (vectors is not null && architecture.Name != ArchitectureRegistry.NGramBag)
                {
                    throw new TrainingRequestException($"word_vectors applies to an {ArchitectureRegistry.NGramBag} trained from scratch; this run is a {architecture.Name}.");
                }

                tokenizer = TokenizerDefinition.Learn(trainTexts, settings, vectors?.Words);
                try
                {
                    config = architecture.ResolveConfig(request.Model, new TextTokenizer(tokenizer).VocabularySize, labels.Length, hyperparameters);
                }
                catch (ArgumentException e)
                {
                    throw new TrainingRequestException(e.Message);
                }

                if (vectors is not null)
                {
                    config = (NGramBagConfig)config with { WordVectorWidth = vectors.Width, WordVectorRows = PretrainedWordVectors.WordRows(tokenizer) };
                    wordVectors = vectors.RowsFor(tokenizer);
                }
            }

            var configErrors = config.Validate();
            if (configErrors.Count > 0)
            {
                throw new TrainingRequestException($"Invalid model shape: {string.Join("; ", configErrors)}.");
            }

            return new Plan(
                architecture,
                hyperparameters,
                tokenizer,
                config,
                labels,
                outOfScope,
                trainTexts,
                trainTargets.ToArray(),
                teacherLogits,
                request.Validation,
                fingerprint,
                wordVectors);
        }

        private static string Fingerprint(
            IReadOnlyList<LabelledText> train, IReadOnlyList<LabelledText> validation, string? outOfScope, (List<string> Texts, float[] Logits)? teacher)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Append(hash, $"out-of-scope:{outOfScope}\n");
            foreach (var (name, rows) in new[] { ("train", train), ("validation", validation) })
            {
                Append(hash, $"{name}:{rows.Count}\n");
                foreach (var row in rows)
                {
                    Append(hash, row.Text);
                    Append(hash, "\u0000");
                    Append(hash, row.Label);
                    Append(hash, "\n");
                }
            }

            if (teacher is var (texts, logits))
            {
                Append(hash, $"teacher:{texts.Count}\n");
                foreach (string text in texts)
                {
                    Append(hash, text);
                    Append(hash, "\n");
                }

                hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(logits.AsSpan()));
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        private static void Append(IncrementalHash hash, string text) => hash.AppendData(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The tensors and counters of one run; disposed when the run ends, whatever way it ends.</summary>
    private sealed class Run : IDisposable
    {
        private readonly Plan plan;
        private readonly Device device;
        private readonly ITrainingObserver? observer;
        private readonly Hyperparameters h;
        private readonly TextTokenizer tokenizer;
        private readonly Generator generator;
        private readonly TextClassifierModule model;
        private readonly Tensor classWeights;
        private readonly long stepsPerEpoch;
        private readonly long totalSteps;
        private readonly long warmupSteps;
        private readonly List<EpochMetrics> history = [];
        private InPlaceAdamW optimizer = null!;
        private Tensor? frozenFeatures;
        private Tensor? frozenValidation;
        private long globalStep;
        private double? bestMetric;
        private byte[]? bestWeights;
        private byte[]? latestWeights;
        private int epochsWithoutImprovement;

        public Run(Plan plan, Device device, ITrainingObserver? observer)
        {
            this.plan = plan;
            this.device = device;
            this.observer = observer;
            h = plan.Hyperparameters;
            tokenizer = new TextTokenizer(plan.Tokenizer);
            stepsPerEpoch = (EpochRows + h.BatchSize - 1) / h.BatchSize;
            totalSteps = stepsPerEpoch * h.Epochs;
            warmupSteps = LearningRateSchedule.WarmupSteps(totalSteps, h.WarmupRatio);

            // Modules are built on the CPU and moved; dropout masks are drawn on the device the model runs on.
            using (var initial = new Generator(unchecked((ulong)h.Seed), CPU))
            {
                model = plan.Architecture.Create(plan.Config, initial);
            }

            model.to(device);
            generator = new Generator(unchecked((ulong)h.Seed), device);
            model.DrawDropoutMasksFrom(generator);
            classWeights = InverseFrequencyWeights(plan.TrainTargets, plan.Labels.Count).to(device);
        }

        /// <summary>Rows an epoch trains on: the training texts and, with augmentation on, their variants.</summary>
        private long EpochRows => (long)plan.TrainTexts.Count * (1 + (h.Augmentation is { Enabled: true } augmentation ? augmentation.Copies : 0));

        public int EpochsCompleted { get; private set; }

        public int BestEpoch { get; private set; }

        public bool Finished { get; private set; }

        public void Initialise(TrainingCheckpoint? resume, TrainingCheckpoint? baseModel, PretrainedEncoder? pretrained)
        {
            if (resume is not null)
            {
                ModelWeights.Load(model, resume.Weights);
            }
            else if (baseModel is not null)
            {
                ModelWeights.LoadForLabels(model, baseModel.ServingWeights, baseModel.Labels, plan.Labels);
            }
            else if (pretrained is not null)
            {
                pretrained.Weights.LoadInto((BertClassifier)model);
            }
            else if (plan.WordVectors is { } wordVectors)
            {
                ((NGramBagClassifier)model).LoadWordVectors(wordVectors);
            }

            // Frozen layers are decided before the optimizer exists, so that it keeps no state for them.
            if (model is BertClassifier bert && h.TrainLayers is int trainLayers)
            {
                bert.FreezeBelowTopLayers(trainLayers);
            }

            optimizer = CreateOptimizer();
            if (resume is not null)
            {
                using var reader = new BinaryReader(new MemoryStream(resume.OptimizerState!));
                optimizer.load_state_dict(reader);
                EpochsCompleted = resume.EpochsCompleted;
                globalStep = resume.GlobalStep;
                bestMetric = resume.BestMetric;
                BestEpoch = resume.BestEpoch;
                bestWeights = resume.BestWeights ?? resume.Weights;
                latestWeights = resume.Weights;
                epochsWithoutImprovement = resume.EpochsWithoutImprovement;
                Finished = resume.Finished;
                history.AddRange(resume.History);
            }

            Finished |= EpochsCompleted >= h.Epochs;
        }

        public EpochMetrics TrainEpoch(ITrainingObserver? observer, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            int epoch = EpochsCompleted;
            generator.manual_seed(h.Seed + epoch);

            // Variant c of text r sits at (c + 1) * N + r, so every row's label is that of text (row mod N).
            IReadOnlyList<string> epochTexts = h.Augmentation is { Enabled: true } augmentation
                ? [.. plan.TrainTexts, .. TextAugmentation.ForEpoch(plan.TrainTexts, augmentation, h.Seed, epoch)]
                : plan.TrainTexts;
            int originals = plan.TrainTexts.Count;
            var order = Shuffle(epochTexts.Count, new Random(ShuffleSeed(h.Seed, epoch)));

            if (FrozenEncoder is { } frozen && frozenFeatures is null)
            {
                frozenFeatures = EmbedOnce(frozen, plan.TrainTexts, cancellationToken);
            }

            model.train();
            var parameters = model.parameters().Where(p => p.requires_grad).ToArray();
            var batch = new TokenizedBatch();
            var texts = new List<string>(h.BatchSize);
            double lossSum = 0;
            long examples = 0;
            for (int start = 0; start < order.Length; start += h.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                int end = Math.Min(start + h.BatchSize, order.Length);
                texts.Clear();
                var targets = new long[end - start];
                var rows = order[start..end];
                for (int i = start; i < end; i++)
                {
                    texts.Add(epochTexts[order[i]]);
                    targets[i - start] = plan.TrainTargets[order[i] % originals];
                }

                Tensor logits;
                if (frozenFeatures is not null)
                {
                    logits = ((BertClassifier)model).Classify(frozenFeatures.index_select(0, tensor(Array.ConvertAll(rows, i => (long)i)).to(device)));
                }
                else
                {
                    tokenizer.EncodeBatch(texts, batch);
                    logits = model.forward(Scoring.ToTensor(batch.InputIds, batch, device), Scoring.ToTensor(batch.AttentionMask, batch, device));
                }

                // A variant is trained towards its original text's targets (label and, when distilling, the teacher's logits).
                var loss = Loss(logits, epochTexts.Count == originals ? rows : Array.ConvertAll(rows, row => row % originals), tensor(targets).to(device));

                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(parameters, MaxGradientNorm);
                double learningRate = h.LearningRate * LearningRateSchedule.At(globalStep, totalSteps, warmupSteps, h.LearningRateSchedule);
                foreach (var group in optimizer.ParamGroups)
                {
                    group.LearningRate = learningRate;
                }

                optimizer.step();
                globalStep++;
                double lossValue = loss.item<float>();
                lossSum += lossValue * (end - start);
                examples += end - start;
                observer?.OnStep(new TrainingStep(epoch + 1, globalStep, totalSteps, lossValue, learningRate, examples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)));
            }

            EpochsCompleted = epoch + 1;
            latestWeights = ModelWeights.Save(model);
            var validation = Validate(cancellationToken);
            bool isBest = validation is null || bestMetric is null || validation.Value.MacroF1 > bestMetric.Value;
            if (isBest)
            {
                bestMetric = validation?.MacroF1;
                bestWeights = latestWeights;
                BestEpoch = EpochsCompleted;
                epochsWithoutImprovement = 0;
            }
            else
            {
                epochsWithoutImprovement++;
            }

            Finished = EpochsCompleted >= h.Epochs || (h.EarlyStoppingPatience > 0 && epochsWithoutImprovement >= h.EarlyStoppingPatience);
            var metrics = new EpochMetrics(
                EpochsCompleted,
                examples == 0 ? 0 : lossSum / examples,
                validation?.Loss,
                validation?.Accuracy,
                validation?.MacroF1,
                isBest,
                clock.Elapsed.TotalSeconds);
            history.Add(metrics);
            return metrics;
        }

        /// <summary>
        /// Linear probing before fine-tuning (<see cref="Hyperparameters.ProbeEpochs"/>): trains the new head alone on
        /// vectors the encoder computes once in eval mode, with its own AdamW and a linearly decaying rate. Its dropout
        /// and shuffles use seeds no epoch uses, and every epoch reseeds afterwards, so the run stays repeatable.
        /// Skipped when the encoder is frozen anyway (the whole run is then a probe).
        /// </summary>
        public void ProbeHead(CancellationToken cancellationToken)
        {
            if (model is not BertClassifier bert || h.ProbeEpochs == 0 || h.TrainLayers == 0)
            {
                return;
            }

            using var features = EmbedOnce(bert, plan.TrainTexts, cancellationToken);
            var head = model.named_parameters().Where(p => p.name.StartsWith("classifier.", StringComparison.Ordinal)).Select(p => p.parameter).ToList();
            using var headOptimizer = new InPlaceAdamW([new AdamW.ParamGroup(head, lr: h.ProbeLearningRate, weight_decay: 0)], h.ProbeLearningRate, 0);
            // The probe trains on the original texts only (their vectors are computed once), whatever the augmentation.
            long steps = (plan.TrainTexts.Count + h.BatchSize - 1) / h.BatchSize * h.ProbeEpochs;
            long step = 0;
            model.train();
            generator.manual_seed(h.Seed - 1);
            for (int epoch = 0; epoch < h.ProbeEpochs; epoch++)
            {
                var order = Shuffle(plan.TrainTexts.Count, new Random(ShuffleSeed(h.Seed, -1 - epoch)));
                for (int start = 0; start < order.Length; start += h.BatchSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    observer?.OnBatch();
                    using var scope = NewDisposeScope();
                    var rows = order[start..Math.Min(start + h.BatchSize, order.Length)];
                    var targets = tensor(Array.ConvertAll(rows, i => (long)plan.TrainTargets[i])).to(device);
                    var logits = bert.Classify(features.index_select(0, tensor(Array.ConvertAll(rows, i => (long)i)).to(device)));
                    var loss = Loss(logits, rows, targets);
                    headOptimizer.zero_grad();
                    loss.backward();
                    headOptimizer.ParamGroups.First().LearningRate = h.ProbeLearningRate * LearningRateSchedule.At(step++, steps, 0, LearningRateScheduleKind.Linear);
                    headOptimizer.step();
                }
            }
        }

        /// <summary>
        /// The loss of a batch of the plan's training rows <paramref name="rows"/>: the cross-entropy with the labels,
        /// or, when distilling, <see cref="DistillationLoss"/> with the teacher's logits of those rows.
        /// </summary>
        private Tensor Loss(Tensor logits, int[] rows, Tensor targets)
        {
            if (plan.TeacherLogits is not { } teacher)
            {
                return nn.functional.cross_entropy(logits, targets, weight: classWeights, label_smoothing: h.LabelSmoothing);
            }

            int labels = plan.Labels.Count;
            var batch = new float[rows.Length * labels];
            for (int i = 0; i < rows.Length; i++)
            {
                Array.Copy(teacher, (long)rows[i] * labels, batch, (long)i * labels, labels);
            }

            using var teacherLogits = tensor(batch, [rows.Length, labels]).to(device);
            return DistillationLoss.Compute(logits, teacherLogits, targets, h.DistillationTemperature, h.DistillationAlpha, classWeights, h.LabelSmoothing);
        }

        /// <summary>
        /// A frozen encoder (<c>train_layers</c> 0) gives every training text the same vector in every epoch, so each
        /// text is embedded once, in eval mode, and the epochs train the head on those vectors: one encoder pass over
        /// the data instead of one per epoch. Rows are in the plan's order; a batch picks its rows by index.
        /// </summary>
        private Tensor EmbedOnce(BertClassifier encoder, IReadOnlyList<string> texts, CancellationToken cancellationToken)
        {
            bool wasTraining = encoder.training;
            encoder.eval();
            var batch = new TokenizedBatch();
            var parts = new List<Tensor>();
            try
            {
                using var noGrad = no_grad();
                for (int start = 0; start < texts.Count; start += Scoring.BatchSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    observer?.OnBatch();
                    var slice = texts.Skip(start).Take(Scoring.BatchSize).ToList();
                    tokenizer.EncodeBatch(slice, batch);
                    using var scope = NewDisposeScope();
                    parts.Add(encoder.Pool(Scoring.ToTensor(batch.InputIds, batch, device), Scoring.ToTensor(batch.AttentionMask, batch, device)).MoveToOuterDisposeScope());
                }

                return cat(parts, 0).DetachFromDisposeScope();
            }
            finally
            {
                foreach (var part in parts)
                {
                    part.Dispose();
                }

                encoder.train(wasTraining);
            }
        }

        /// <summary>The encoder when it is frozen (<c>train_layers</c> 0), whose vectors are computed once per text.</summary>
        private BertClassifier? FrozenEncoder => model is BertClassifier bert && h.TrainLayers == 0 ? bert : null;

        /// <summary>
        /// Probabilities <c>[rows, labels]</c> for the validation rows <paramref name="rows"/>: from the cached vectors
        /// of a frozen encoder (embedded on first use), else through the whole network.
        /// </summary>
        private float[] ValidationProbabilities(int[] rows, CancellationToken cancellationToken)
        {
            if (FrozenEncoder is not { } frozen)
            {
                return Scoring.Probabilities(model, tokenizer, rows.Select(i => plan.Validation[i].Text).ToList(), device, cancellationToken, observer is null ? null : observer.OnBatch);
            }

            frozenValidation ??= EmbedOnce(frozen, plan.Validation.Select(row => row.Text).ToList(), cancellationToken);
            bool wasTraining = model.training;
            model.eval();
            try
            {
                using var noGrad = no_grad();
                using var scope = NewDisposeScope();
                var selected = frozenValidation.index_select(0, tensor(Array.ConvertAll(rows, i => (long)i)).to(device));
                var probabilities = nn.functional.softmax(frozen.Classify(selected), 1).cpu().contiguous();
                return probabilities.data<float>().ToArray();
            }
            finally
            {
                model.train(wasTraining);
            }
        }

        /// <summary>A resume point at the current epoch boundary.</summary>
        public TrainingCheckpoint Checkpoint()
        {
            // AdamW keeps two moments per parameter; sizing the buffer for them up front avoids regrowing (and
            // discarding) tens of megabytes per epoch.
            long parameterBytes = model.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
            using var buffer = new MemoryStream(checked((int)(2 * parameterBytes + 64 * 1024)));
            using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
            {
                optimizer.save_state_dict(writer);
            }

            var weights = latestWeights ?? ModelWeights.Save(model);
            return Describe(weights) with
            {
                BestWeights = ReferenceEquals(bestWeights, weights) ? null : bestWeights,
                OptimizerState = buffer.ToArray(),
            };
        }

        /// <summary>Puts the best weights back, evaluates them and chooses the out-of-scope threshold.</summary>
        public (TrainingCheckpoint Model, EvaluationReport? Evaluation) Finish(ThresholdObjective objective, CancellationToken cancellationToken)
        {
            var weights = bestWeights ?? latestWeights ?? ModelWeights.Save(model);
            if (!ReferenceEquals(weights, latestWeights))
            {
                ModelWeights.Load(model, weights);
            }

            double? threshold = null;
            EvaluationReport? evaluation = null;
            if (plan.Validation.Count > 0)
            {
                var probabilities = ValidationProbabilities(Enumerable.Range(0, plan.Validation.Count).ToArray(), cancellationToken);
                if (plan.OutOfScopeLabel is not null)
                {
                    var (predicted, confidence) = Scoring.Decide(probabilities, plan.Labels.Count);
                    var index = Scoring.Index(plan.Labels);
                    var outOfScope = plan.Validation.Select(row => row.Label == plan.OutOfScopeLabel).ToArray();
                    var correct = plan.Validation.Select((row, i) => !outOfScope[i] && index[row.Label] == predicted[i]).ToArray();
                    threshold = OutOfScopeThreshold.Choose(confidence, correct, outOfScope, objective).Threshold;
                }

                evaluation = Scoring.Report(plan.Labels, plan.OutOfScopeLabel, probabilities, plan.Validation, threshold ?? 0);
            }

            var final = Describe(weights) with { OutOfScopeThreshold = threshold, Finished = true };
            return (final, evaluation);
        }

        public void Dispose()
        {
            optimizer?.Dispose();
            frozenFeatures?.Dispose();
            frozenValidation?.Dispose();
            classWeights.Dispose();
            model.Dispose();
            generator.Dispose();
        }

        private TrainingCheckpoint Describe(byte[] weights) => new()
        {
            Architecture = plan.Architecture.Name,
            ModelConfig = plan.Config,
            Hyperparameters = h,
            Tokenizer = plan.Tokenizer,
            Labels = plan.Labels,
            OutOfScopeLabel = plan.OutOfScopeLabel,
            EpochsCompleted = EpochsCompleted,
            GlobalStep = globalStep,
            BestMetric = bestMetric,
            BestEpoch = BestEpoch,
            EpochsWithoutImprovement = epochsWithoutImprovement,
            Finished = Finished,
            DataFingerprint = plan.DataFingerprint,
            History = history.ToArray(),
            Weights = weights,
        };

        /// <summary>
        /// AdamW in two groups: weights and embeddings decay; biases and normalisation parameters do not (decaying
        /// them only pulls offsets and scales towards zero).
        /// </summary>
        private InPlaceAdamW CreateOptimizer()
        {
            var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
            bool Decays(string name) => !name.EndsWith(".bias", StringComparison.Ordinal) && !name.Contains("norm", StringComparison.Ordinal);
            var groups = new List<AdamW.ParamGroup>
            {
                new(named.Where(p => Decays(p.name)).Select(p => p.parameter), lr: h.LearningRate, weight_decay: h.WeightDecay),
                new(named.Where(p => !Decays(p.name)).Select(p => p.parameter), lr: h.LearningRate, weight_decay: 0),
            };
            return new InPlaceAdamW(groups, h.LearningRate, h.WeightDecay);
        }

        private (double Loss, double Accuracy, double MacroF1)? Validate(CancellationToken cancellationToken)
        {
            var index = Scoring.Index(plan.Labels);
            int[] inScope = Enumerable.Range(0, plan.Validation.Count).Where(i => plan.Validation[i].Label != plan.OutOfScopeLabel).ToArray();
            var rows = inScope.Select(i => plan.Validation[i]).ToList();
            if (rows.Count == 0)
            {
                return null;
            }

            var probabilities = ValidationProbabilities(inScope, cancellationToken);
            var (predicted, _) = Scoring.Decide(probabilities, plan.Labels.Count);
            var actual = rows.Select(row => index[row.Label]).ToArray();
            double loss = 0;
            for (int row = 0; row < rows.Count; row++)
            {
                loss -= Math.Log(Math.Max(probabilities[row * plan.Labels.Count + actual[row]], 1e-30));
            }

            var report = EvaluationReport.FromPredictions(plan.Labels, actual, predicted);
            return (loss / rows.Count, report.Accuracy, report.MacroF1);
        }

        /// <summary>
        /// Inverse class frequency, scaled so that the weights average 1 over the training rows (a balanced set gets
        /// all ones, so the loss keeps its scale).
        /// </summary>
        private static Tensor InverseFrequencyWeights(int[] targets, int labels)
        {
            var counts = new double[labels];
            int labelled = 0;
            foreach (int target in targets)
            {
                // Rows a distilling run has without a label (DistillationLoss.NoLabel) have no class.
                if (target >= 0)
                {
                    counts[target]++;
                    labelled++;
                }
            }

            var weights = new float[labels];
            for (int c = 0; c < labels; c++)
            {
                weights[c] = counts[c] == 0 ? 0 : (float)(labelled / (labels * counts[c]));
            }

            return tensor(weights);
        }

        private static int[] Shuffle(int count, Random random)
        {
            var order = new int[count];
            for (int i = 0; i < count; i++)
            {
                order[i] = i;
            }

            for (int i = count - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }

            return order;
        }
    }
}
