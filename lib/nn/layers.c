/* The registry of layer kinds (layer.h). A new kind: its file, and one line here. */
#include <string.h>

#include "nn.h"

static const clg_layer_type *const kinds[] = {
    &clg_layer_linear, /* code 0 */
    &clg_layer_relu,   /* code 1 */
    &clg_layer_phm,    /* code 2 */
};

size_t clg_layer_type_count(void) { return sizeof kinds / sizeof kinds[0]; }

const clg_layer_type *clg_layer_type_at(size_t i)
{
    return i < clg_layer_type_count() ? kinds[i] : NULL;
}

const clg_layer_type *clg_layer_type_by_code(uint32_t code)
{
    for (size_t i = 0; i < clg_layer_type_count(); i++)
        if (kinds[i]->code == code) return kinds[i];
    return NULL;
}

const clg_layer_type *clg_layer_type_by_name(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < clg_layer_type_count(); i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    return NULL;
}
