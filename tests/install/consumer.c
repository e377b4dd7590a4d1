/* Links the installed library and runs one kernel: proves the kernels are embedded. */
#include <clgrad.h>
#include <stdio.h>

int main(void)
{
    clg_context *ctx = NULL;
    clg_tensor *t = NULL;
    float v[3] = {0};
    if (clg_context_create(&ctx, NULL) != CLG_OK || clg_tensor_create(ctx, 1, 3, &t) != CLG_OK ||
        clg_tensor_fill(t, 7.0f) != CLG_OK || clg_tensor_download(t, v, 1, 3) != CLG_OK) {
        fprintf(stderr, "consumer: %s\n", clg_last_error(ctx));
        return 1;
    }
    printf("consumer ok %s %.1f\n", clg_version(), v[2]);
    clg_tensor_destroy(t);
    clg_context_destroy(ctx);
    return v[2] == 7.0f ? 0 : 1;
}
