/* PyTorch's SGD rule for one element, the one definition for cl/sgd.cl and cl/fused.cl
 * (cmake/embed_kernels.cmake inlines it): u = g + weight_decay·p; with momentum,
 * buf = first ? u : momentum·buf + (1 − dampening)·u and u = nesterov ? u + momentum·buf
 * : buf; returns p − lr·u. h = (lr, momentum, dampening, weight_decay); *buf is read and
 * written only with use_mom. */
#ifndef CLGRAD_SGD_RULE_H
#define CLGRAD_SGD_RULE_H
inline float sgd_rule(const float g, const float p, float *buf, const int use_mom,
                      const int first, const float4 h, const int nesterov)
{
    float u = g + h.w * p;
    if (use_mom) {
        const float b = first ? u : h.y * *buf + (1.0f - h.z) * u;
        *buf = b;
        u = nesterov ? u + h.y * b : b;
    }
    return p - h.x * u;
}
#endif
