/* Whole-file reading with transparent gzip decompression (zlib), and CRC-32 for model files. */
#include "aek_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

void aek_free(void *p) { free(p); }

uint32_t aek_crc32(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    uLong c = crc;
    while (n > 0) { /* zlib takes uInt lengths */
        uInt chunk = n > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

static int read_raw(const char *path, uint8_t **out, size_t *out_len, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return AEK_ERR_IO;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        set_err(err, err_len, "%s: out of memory", path);
        return AEK_ERR_NOMEM;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                set_err(err, err_len, "%s: out of memory", path);
                return AEK_ERR_NOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        free(buf);
        set_err(err, err_len, "%s: read error: %s", path, strerror(saved));
        return AEK_ERR_IO;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return AEK_OK;
}

static int gunzip(const char *path, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, char *err,
                  size_t err_len) {
    size_t cap = in_len * 4 + 4096, len = 0;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        set_err(err, err_len, "%s: out of memory", path);
        return AEK_ERR_NOMEM;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(buf);
        set_err(err, err_len, "%s: zlib initialisation failed", path);
        return AEK_ERR_NOMEM;
    }
    size_t pos = 0;
    int status = AEK_OK;
    for (;;) {
        /* one gzip member */
        int ret = Z_OK;
        zs.next_in = (Bytef *)(in + pos);
        size_t avail = in_len - pos;
        zs.avail_in = avail > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)avail;
        while (ret != Z_STREAM_END) {
            if (len == cap) {
                size_t ncap = cap * 2;
                uint8_t *nb = realloc(buf, ncap + 1);
                if (!nb) {
                    status = AEK_ERR_NOMEM;
                    set_err(err, err_len, "%s: out of memory while decompressing", path);
                    goto done;
                }
                buf = nb;
                cap = ncap;
            }
            zs.next_out = buf + len;
            size_t room = cap - len;
            zs.avail_out = room > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)room;
            uInt before_out = zs.avail_out;
            uInt before_in = zs.avail_in;
            ret = inflate(&zs, Z_NO_FLUSH);
            len += before_out - zs.avail_out;
            pos += before_in - zs.avail_in;
            if (ret == Z_STREAM_END) break;
            if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_MEM_ERROR) {
                status = ret == Z_MEM_ERROR ? AEK_ERR_NOMEM : AEK_ERR_FORMAT;
                set_err(err, err_len, "%s: corrupt gzip data at compressed byte %zu (%s)", path, pos,
                        zs.msg ? zs.msg : "invalid stream");
                goto done;
            }
            if (zs.avail_in == 0) {
                avail = in_len - pos;
                if (avail == 0) {
                    status = AEK_ERR_FORMAT;
                    set_err(err, err_len, "%s: truncated gzip file (stream ends early after %zu compressed bytes)",
                            path, in_len);
                    goto done;
                }
                zs.next_in = (Bytef *)(in + pos);
                zs.avail_in = avail > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)avail;
            }
        }
        /* concatenated members (gzip allows them); trailing zero padding is tolerated */
        while (pos < in_len && in[pos] == 0) pos++;
        if (pos >= in_len) break;
        if (in_len - pos < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
            status = AEK_ERR_FORMAT;
            set_err(err, err_len, "%s: trailing garbage after gzip data at byte %zu", path, pos);
            goto done;
        }
        inflateReset(&zs);
    }
done:
    inflateEnd(&zs);
    if (status != AEK_OK) {
        free(buf);
        return status;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return AEK_OK;
}

int aek_read_file(const char *path, uint8_t **out, size_t *out_len, char *err, size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (!out || !out_len) return AEK_ERR_ARG;
    *out = NULL;
    *out_len = 0;
    if (!path) {
        set_err(err, err_len, "no path given");
        return AEK_ERR_ARG;
    }
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int st = read_raw(path, &raw, &raw_len, err, err_len);
    if (st != AEK_OK) return st;
    if (raw_len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        st = gunzip(path, raw, raw_len, out, out_len, err, err_len);
        free(raw);
        return st;
    }
    *out = raw;
    *out_len = raw_len;
    return AEK_OK;
}
