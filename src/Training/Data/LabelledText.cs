namespace TextClassification.Training.Data;

/// <summary>One example of a dataset as stored.</summary>
/// <param name="Text">The text: trimmed, in NFC, with personal data redacted when the import asked for it.</param>
/// <param name="Label">The label: trimmed and in NFC.</param>
public sealed record LabelledText(string Text, string Label);
