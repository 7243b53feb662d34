namespace SharpLM.Training;

/// <summary>
/// Linear warm-up to the peak learning rate, then cosine decay to a floor (nanoGPT's get_lr). A time-budgeted run
/// passes the fraction of its budget used so far, and the decay follows that instead of the step.
/// </summary>
public static class LearningRateSchedule
{
    /// <summary>The learning rate at <paramref name="step"/> (0-based): linear warm-up over warmup_iters, cosine decay
    /// from learning_rate to min_lr until lr_decay_iters, then min_lr.</summary>
    /// <param name="step">The optimizer step about to be taken.</param>
    /// <param name="c">The schedule's settings: learning_rate, min_lr, warmup_iters and lr_decay_iters.</param>
    /// <param name="budgetFraction">Share of a time budget used so far, in [0, 1]; when given, the decay follows it
    /// instead of the step (warm-up still counts steps).</param>
    public static double At(int step, TrainingConfig c, double? budgetFraction = null)
    {
        if (step < c.WarmupIters) return c.LearningRate * (step + 1) / (c.WarmupIters + 1);
        double ratio;
        if (budgetFraction is double f) ratio = Math.Clamp(f, 0, 1);
        else if (step > c.LrDecayIters) return c.MinLr;
        else ratio = c.LrDecayIters == c.WarmupIters ? 1 : (double)(step - c.WarmupIters) / (c.LrDecayIters - c.WarmupIters);
        double coefficient = 0.5 * (1.0 + Math.Cos(Math.PI * ratio));
        return c.MinLr + coefficient * (c.LearningRate - c.MinLr);
    }
}
