/* The smallest clgrad program: open the default device, run one kernel, read it back. */
#include <stdio.h>

#include "clgrad.h"

int main(void)
{
    clg_context *ctx = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s != CLG_OK) {
        fprintf(stderr, "%s: %s\n", clg_status_string(s), clg_last_error(NULL));
        return 1;
    }
    clg_device_info info;
    clg_context_device(ctx, &info);
    clg_tensor *t = NULL;
    float v[6];
    if ((s = clg_tensor_create(ctx, 2, 3, &t)) != CLG_OK ||
        (s = clg_tensor_fill(t, 1.5f)) != CLG_OK ||
        (s = clg_tensor_download(t, v, 2, 3)) != CLG_OK) {
        fprintf(stderr, "%s: %s\n", clg_status_string(s), clg_last_error(ctx));
        clg_tensor_destroy(t);
        clg_context_destroy(ctx);
        return 1;
    }
    printf("%s: filled a 2x3 tensor with %.1f\n", info.device_name, v[5]);
    clg_tensor_destroy(t);
    clg_context_destroy(ctx);
    return 0;
}
