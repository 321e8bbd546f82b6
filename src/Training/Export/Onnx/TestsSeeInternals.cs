using System.Runtime.CompilerServices;

// The export tests parse written models back with the generated (internal) ONNX message types.
[assembly: InternalsVisibleTo("TextClassification.Training.Tests")]
