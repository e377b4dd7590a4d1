/* Learning-rate schedules (train.h): the rate of an epoch from the group's base rate. */
#include <math.h>

#include "train.h"

clg_schedule clg_schedule_defaults(void)
{
    clg_schedule s = {.kind = CLG_SCHEDULE_CONSTANT, .gamma = 0.1, .warmup_start = 1.0 / 3.0};
    return s;
}

const char *clg_schedule_invalid(const clg_schedule *s)
{
    if (s->kind != CLG_SCHEDULE_CONSTANT && s->kind != CLG_SCHEDULE_STEP &&
        s->kind != CLG_SCHEDULE_COSINE)
        return "unknown schedule kind";
    if (s->kind == CLG_SCHEDULE_STEP && s->step_size == 0) return "step_size must be >= 1";
    if (s->kind == CLG_SCHEDULE_STEP && !(s->gamma > 0 && s->gamma <= 1))
        return "gamma must be in (0, 1]";
    if (s->kind == CLG_SCHEDULE_COSINE && !(s->eta_min >= 0 && isfinite(s->eta_min)))
        return "eta_min must be finite and >= 0";
    if (s->warmup && !(s->warmup_start > 0 && s->warmup_start <= 1))
        return "warmup_start must be in (0, 1]";
    return NULL;
}

double clg_schedule_lr(const clg_schedule *s, double base_lr, size_t epoch, size_t total)
{
    if (!s || clg_schedule_invalid(s) || !isfinite(base_lr)) return NAN;
    if (epoch < s->warmup)
        return base_lr *
               (s->warmup_start + (1.0 - s->warmup_start) * (double)epoch / (double)s->warmup);
    double t = (double)(epoch - s->warmup);
    switch (s->kind) {
    case CLG_SCHEDULE_STEP:
        return base_lr * pow(s->gamma, floor(t / (double)s->step_size));
    case CLG_SCHEDULE_COSINE: {
        double T =
            s->t_max ? (double)s->t_max : (total > s->warmup ? (double)(total - s->warmup) : 1.0);
        double x = t < T ? t / T : 1.0;
        return s->eta_min + (base_lr - s->eta_min) * (1.0 + cos(3.14159265358979323846 * x)) / 2.0;
    }
    default:
        return base_lr;
    }
}
