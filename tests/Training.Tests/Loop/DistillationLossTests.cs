using TextClassification.Training.Loop;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Loop;

public sealed class DistillationLossTests
{
    /// <summary>
    /// Two rows, T = 2, alpha = 0.5. Row 0: student logits (2, 0), teacher (0, 2), label 0. Row 1: student (0, 0),
    /// teacher (2, 0), no label. By hand (natural logs): softmax((0, 2) / 2) = (0.268941, 0.731059), and the student's
    /// log-softmax of (1, 0) is (−0.313262, −1.313262), so KL₀ = 0.731059 − 0.268941 = 0.462117; KL₁ = 0.731059 ×
    /// (−0.313262 + 0.693147) + 0.268941 × (−1.313262 + 0.693147) = 0.110944; the cross-entropy of row 0 is
    /// ln(1 + e⁻²) = 0.126928. Loss = (0.5 × 2² × (0.462117 + 0.110944) + 0.5 × 0.126928) / 2 = 0.604793.
    /// </summary>
    [Fact]
    public void The_loss_of_a_small_batch_is_the_hand_computed_value()
    {
        using var student = tensor(new float[] { 2, 0, 0, 0 }, [2, 2]);
        using var teacher = tensor(new float[] { 0, 2, 2, 0 }, [2, 2]);
        using var targets = tensor(new long[] { 0, DistillationLoss.NoLabel });

        using var loss = DistillationLoss.Compute(student, teacher, targets, temperature: 2, alpha: 0.5);

        Assert.Equal(0.604793, loss.item<float>(), 5);
    }

    [Fact]
    public void With_alpha_zero_it_is_the_ordinary_cross_entropy_and_with_alpha_one_the_labels_play_no_part()
    {
        using var student = tensor(new float[] { 1.5f, -0.5f, 0.25f, 0.1f, 2f, -1f }, [2, 3]);
        using var teacher = tensor(new float[] { 0.3f, 0.2f, 3f, -2f, 1f, 0.5f }, [2, 3]);
        using var targets = tensor(new long[] { 2, 1 });
        using var otherTargets = tensor(new long[] { 0, 0 });

        using var crossEntropy = nn.functional.cross_entropy(student, targets);
        using var hardOnly = DistillationLoss.Compute(student, teacher, targets, temperature: 3, alpha: 0);
        Assert.Equal(crossEntropy.item<float>(), hardOnly.item<float>(), 5);

        using var softOnly = DistillationLoss.Compute(student, teacher, targets, temperature: 3, alpha: 1);
        using var softOnlyOtherLabels = DistillationLoss.Compute(student, teacher, otherTargets, temperature: 3, alpha: 1);
        Assert.Equal(softOnly.item<float>(), softOnlyOtherLabels.item<float>(), 6);
        Assert.True(softOnly.item<float>() > 0);
    }

    [Fact]
    public void A_student_that_matches_its_teacher_has_no_soft_loss_and_its_gradient_points_towards_the_teacher()
    {
        using var teacher = tensor(new float[] { 1f, 3f, -1f }, [1, 3]);
        using var targets = tensor(new long[] { DistillationLoss.NoLabel });
        using (var same = DistillationLoss.Compute(teacher.clone(), teacher, targets, temperature: 4, alpha: 0.7))
        {
            Assert.Equal(0, same.item<float>(), 6);
        }

        using var student = tensor(new float[] { 0f, 0f, 0f }, [1, 3]).requires_grad_();
        using var loss = DistillationLoss.Compute(student, teacher, targets, temperature: 4, alpha: 0.7);
        loss.backward();
        var gradient = student.grad!.data<float>().ToArray();
        // Descent raises the logit the teacher ranks first and lowers the one it ranks last.
        Assert.True(gradient[1] < 0 && gradient[2] > 0, string.Join(", ", gradient));
    }
}
