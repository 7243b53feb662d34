namespace SharpLM.Training;

/// <summary>
/// Linear warm-up to the peak learning rate, then cosine decay to a floor (nanoGPT's get_lr). A time-budgeted run
/// passes the fraction of its budget used so far, and the decay follows that instead of the step.
/// </summary>
public static class LearningRateSchedule
{
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
