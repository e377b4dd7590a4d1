/* Files written whole or not at all: the one way clgrad writes a file (checkpoints,
 * the program cache, the CLBlast tuning).
 *
 * The bytes go to a temporary file beside the target, which is fsynced, renamed over
 * the target (atomic on POSIX) and followed by an fsync of the directory, so a reader
 * sees the old file or the whole new one, and a crash or a kill at any point leaves
 * the old file. One durability policy for every file: the cost (milliseconds) is
 * small against what produced the bytes (a training run, a kernel build).
 *
 * The target is what a user means by the path: a symlink is followed (the link stays
 * and its target gets the new bytes), an existing file keeps its permissions, and
 * anything that is not a regular file (a FIFO, a device, a directory) is refused
 * before a byte is written. Temporary names are "<name>.tmp.<pid>.<n>", with <name>
 * shortened so that they fit NAME_MAX; temporaries left by a process that died (a
 * SIGKILL mid-save) are removed by the next save to the same path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

/* The message of a failure, into msg: the callers add their context. */
#define FAIL(status, ...) (snprintf(msg, msglen, __VA_ARGS__), (status))

#define MAX_LINKS 40      /* like the kernel's limit on nested symlinks */
#define TMP_NAME_KEEP 200 /* bytes of the target's name kept in a temporary's name */

const char *clg_os_reason(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0) snprintf(buf, len, "errno %d", err);
    return buf;
}

int clg_mkdir_p(const char *dir)
{
    size_t n = strlen(dir);
    char *tmp = malloc(n + 1);
    if (!tmp) return -1;
    memcpy(tmp, dir, n + 1);
    int rc = 0;
    for (char *p = tmp + 1; *p && !rc; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST) rc = -1;
        *p = '/';
    }
    if (!rc && mkdir(tmp, 0755) && errno != EEXIST) rc = -1;
    free(tmp);
    return rc;
}

/* The path a write to `path` must replace: symlinks followed (relative targets are
 * relative to the link's directory). Returns a malloc'd string, NULL with errno set. */
static char *resolve_links(const char *path)
{
    char *cur = strdup(path);
    for (int depth = 0; cur && depth <= MAX_LINKS; depth++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur; /* absent or not a link */
        char target[PATH_MAX];
        ssize_t len = readlink(cur, target, sizeof target - 1);
        if (len < 0) {
            free(cur);
            return NULL;
        }
        target[len] = '\0';
        const char *slash = strrchr(cur, '/');
        size_t dirlen = target[0] != '/' && slash ? (size_t)(slash - cur) + 1 : 0;
        char *next = malloc(dirlen + (size_t)len + 1);
        if (next) {
            memcpy(next, cur, dirlen);
            memcpy(next + dirlen, target, (size_t)len + 1);
        }
        free(cur);
        cur = next;
    }
    if (cur) {
        free(cur);
        errno = ELOOP;
    } else {
        errno = ENOMEM;
    }
    return NULL;
}

/* Directory part of path ("." when none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Removes "<prefix>.tmp.<pid>.<n>" files in dir whose process is gone. */
static void remove_orphans(const char *dir, const char *prefix, size_t plen)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strncmp(name, prefix, plen) || strncmp(name + plen, ".tmp.", 5)) continue;
        char *end;
        long pid = strtol(name + plen + 5, &end, 10);
        if (pid <= 0 || *end != '.' || pid == (long)getpid()) continue;
        strtoul(end + 1, &end, 10);
        if (*end) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        size_t n = strlen(dir) + strlen(name) + 2;
        char *full = malloc(n);
        if (!full) break;
        snprintf(full, n, "%s/%s", dir, name);
        unlink(full);
        free(full);
    }
    closedir(d);
}

static clg_status write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return CLG_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return CLG_OK;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: makes the rename durable */
        close(fd);
    }
}

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

clg_status clg_file_write_atomic(const char *op, const char *path, const void *buf, size_t len,
                                 char *msg, size_t msglen)
{
    static atomic_uint seq;
    char why[128];
    char *target = resolve_links(path);
    if (!target)
        return FAIL(CLG_ERR_IO, "%s: cannot resolve %s: %s", op, path,
                    clg_os_reason(errno, why, sizeof why));
    struct stat st;
    int exists = stat(target, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        clg_status s = FAIL(CLG_ERR_IO, "%s: %s is %s, not a regular file; nothing written", op,
                            path, kind_of(st.st_mode));
        free(target);
        return s;
    }
    char *dir = dir_of(target);
    const char *base = base_of(target);
    size_t keep = strlen(base) < TMP_NAME_KEEP ? strlen(base) : TMP_NAME_KEEP;
    size_t n = strlen(target) + 64;
    char *tmp = dir ? malloc(n) : NULL;
    if (!tmp) {
        free(dir);
        free(target);
        return FAIL(CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    }
    remove_orphans(dir, base, keep);
    snprintf(tmp, n, "%.*s%.*s.tmp.%ld.%u", (int)(base - target), target, (int)keep, base,
             (long)getpid(), atomic_fetch_add(&seq, 1u));
    clg_status s = CLG_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) { /* left by a process that had our pid */
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    }
    if (fd < 0) {
        s = FAIL(CLG_ERR_IO, "%s: cannot create %s (for %s): %s", op, tmp, path,
                 clg_os_reason(errno, why, sizeof why));
        goto out;
    }
    const char *step = NULL;
    if (exists && fchmod(fd, st.st_mode & 07777) != 0) step = "setting the permissions of";
    if (!step && write_all(fd, buf, len) != CLG_OK) step = "writing";
    if (!step && fsync(fd) != 0) step = "fsync of";
    int e = errno;
    if (close(fd) != 0 && !step) {
        e = errno;
        step = "closing";
    }
    if (!step && rename(tmp, target) != 0) {
        e = errno;
        step = "renaming";
    }
    if (step) {
        unlink(tmp);
        s = FAIL(CLG_ERR_IO, "%s: %s %s (for %s): %s; %s is unchanged", op, step, tmp, path,
                 clg_os_reason(e, why, sizeof why), path);
        goto out;
    }
    sync_dir(dir);
out:
    free(tmp);
    free(dir);
    free(target);
    return s;
}
