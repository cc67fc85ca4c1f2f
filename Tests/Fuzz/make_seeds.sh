#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz harness (Tests/Fuzz/corpus/{reader,modelfile}) with the
# built CLI: small data files in every format the readers know (the first byte of a reader input
# picks the format and the file name, see Tests/Fuzz/Harness/Fuzz.swift) and small model files of
# every kind plus a training checkpoint (the first byte of a modelfile input: 0 = as is, 1 =
# recompute the CRCs after mutation). Usage: Tests/Fuzz/make_seeds.sh [path/to/aerec]
set -euo pipefail
cd "$(dirname "$0")"
AEREC=${1:-../../.build/release/aerec}
R=corpus/reader M=corpus/modelfile
rm -rf "$R" "$M" && mkdir -p "$R" "$M"
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

# seed FILE SELECTOR CONTENT: the selector byte, then the content
seed() { { printf "\\x$(printf %02x "$2")"; printf '%b' "$3"; } > "$R/$1"; }
seed tsv-auto 0 'user\titem\trating\ttimestamp\nu1\ti1\t4\t881250949\nu1\t007\t3.5\t881250950\nu2\ti1\t5\t1\n'
seed tsv-two-columns 1 'user\titem\n1\ta\n2\tb\n1\tb\n'
seed udata 10 '196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t881250949\n'
seed dat 19 '1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978300760\n'
seed movielens-csv 28 'userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n2,31,4,1\n'
seed delimited-named 37 'user,item,rating,ts\n"a,1","say ""hi""",4,1\n b , c ,2,2\n"a,1",c,5,3\n'
seed delimited-semicolon 46 'i1;u1\ni2;u1\n"i;3";u2\n'
seed delimited-pipes 55 'u||i||r||t\n1||2||3||4\n5||6||7.25||8\n'
seed crlf-bom 0 '\xef\xbb\xbfuser\titem\tvalue\r\n1\t2\t3\r\n\r\n4\t5\t6\r\n'
seed bad-value 1 'user\titem\tvalue\n1\t2\tnan\n'
# selector bit 6: the k-core filter (minimum 2) instead of threshold 1.5
seed tsv-kcore 65 'user\titem\n1\ta\n1\tb\n2\ta\n2\tb\n3\ta\n'
printf 'user\titem\tvalue\n1\t2\t3\n4\t5\t1e3\n2\t2\t-1\n' | gzip -n -c > "$work/g"
printf '7\t2\t4\n1\t9\t2\n' | gzip -n -c > "$work/g2"
{ printf '\x28'; cat "$work/g"; } > "$R/gzip-auto"
{ printf '\x28'; cat "$work/g" "$work/g2"; } > "$R/gzip-two-members"

# model files of every kind, trained for one epoch on 30 users x 12 items
{
    printf 'user\titem\trating\ttimestamp\n'
    for u in $(seq 0 29); do for j in 0 1 2 3 4; do
        printf 'u%d\ti%d\t%d\t%d\n' "$u" $(( (u * 5 + j * 7) % 12 )) $(( 1 + (u + j) % 5 )) $(( 1000 + u * 10 + j ))
    done; done
} > "$work/data.tsv"
train() { "$AEREC" train --data "$work/data.tsv" --epochs 2 --quiet --heldout-users 3 --out "$work/$1" "${@:2}"; }
train mult-dae --model mult-dae --latent 3
train mult-vae --model mult-vae --hidden 6 --latent 3
train cdae --model cdae --hidden 3 --split ratio
train autorec-i --model autorec-i --hidden 3 --split explicit
train autorec-u --model autorec-u --hidden 3 --split explicit
train ease --model ease --lambda 10
train pop --model pop
"$AEREC" train --data "$work/data.tsv" --model mult-dae --latent 3 --epochs 1000000 --patience 1000000 \
    --heldout-users 3 --checkpoint-every 1 --out "$work/ckpt" --quiet &
pid=$!
for _ in $(seq 1 400); do [ -f "$work/ckpt/checkpoint.aerec" ] && break; sleep 0.05; done
sleep 0.2
kill -9 $pid; wait $pid 2>/dev/null || true
cp "$work/ckpt/checkpoint.aerec" "$work/checkpoint.aerec"
for k in mult-dae mult-vae cdae autorec-i autorec-u ease pop; do
    { printf '\x00'; cat "$work/$k/model.aerec"; } > "$M/$k"
    { printf '\x01'; cat "$work/$k/model.aerec"; } > "$M/$k-resealed"
done
{ printf '\x01'; cat "$work/checkpoint.aerec"; } > "$M/checkpoint"
ls -l "$R" "$M" | awk '{ s += $5 } END { print "corpus bytes:", s }'
