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

    /// <summary>
    /// The squared-error form, alpha = 0.5, two rows. Row 0: student (2, 0, 1), teacher (0, 3, 0), label 2; centred,
    /// the student is (1, −1, 0) and the teacher (−1, 2, −1), a difference of (2, −3, 1), squares summing to 14. Row 1:
    /// student (5, 5, 5), teacher (1, 1, 1), no label: centred both are zero, so a shifted row costs nothing. The
    /// cross-entropy of row 0 is ln(e² + 1 + e) − 1 = 1.407606. Loss = (0.5 × 14 + 0.5 × 1.407606) / 2 = 3.851902;
    /// the temperature plays no part.
    /// </summary>
    [Fact]
    public void The_squared_error_form_compares_centred_logits_and_ignores_the_temperature()
    {
        using var student = tensor(new float[] { 2, 0, 1, 5, 5, 5 }, [2, 3]);
        using var teacher = tensor(new float[] { 0, 3, 0, 1, 1, 1 }, [2, 3]);
        using var targets = tensor(new long[] { 2, DistillationLoss.NoLabel });

        using var loss = DistillationLoss.Compute(student, teacher, targets, temperature: 1, alpha: 0.5, kind: DistillationLossKind.Mse);
        using var hotter = DistillationLoss.Compute(student, teacher, targets, temperature: 7, alpha: 0.5, kind: DistillationLossKind.Mse);
        using var kl = DistillationLoss.Compute(student, teacher, targets, temperature: 1, alpha: 0.5);

        Assert.Equal(3.851902, loss.item<float>(), 5);
        Assert.Equal(loss.item<float>(), hotter.item<float>(), 6);
        Assert.NotEqual(loss.item<float>(), kl.item<float>(), 3);
    }

    [Fact]
    public void The_squared_error_forms_gradient_moves_each_logit_towards_the_teachers_and_not_the_rows_shift()
    {
        using var teacher = tensor(new float[] { 1f, 3f, -1f }, [1, 3]);
        using var targets = tensor(new long[] { DistillationLoss.NoLabel });
        using var student = tensor(new float[] { 10f, 10f, 10f }, [1, 3]).requires_grad_();

        using var loss = DistillationLoss.Compute(student, teacher, targets, temperature: 1, alpha: 1, kind: DistillationLossKind.Mse);
        loss.backward();

        // Centred teacher (0, 2, −2) against a centred student of zeros: d/ds of Σ (s − t)² = 2 (s − t),
        // centred again (it already sums to zero), so (0, −4, 4).
        var gradient = student.grad!.data<float>().ToArray();
        Assert.Equal(0, gradient[0], 5);
        Assert.Equal(-4f, gradient[1], 5);
        Assert.Equal(4f, gradient[2], 5);
        Assert.Equal(0, gradient.Sum(), 5);
    }
}
