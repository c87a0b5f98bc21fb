#!/usr/bin/env bash
# The image demo: the embedded patch corpus (real CIFAR-10 layout), the image VQ-VAE, the continuous VAE and the
# PixelCNN prior on CPU for a bounded time each, then bits/dim and grids -> runs/images_demo/report.md.
#   VQSPEECH_IMAGE_MINUTES   training minutes per model (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "image"
MIN="${VQSPEECH_IMAGE_MINUTES:-5}"
V=".venv/bin/vqspeech"
RUN=runs/images_demo
CK=$RUN/checkpoints/last.safetensors
VCK=runs/images_demo_vae/checkpoints/last.safetensors
PCK=runs/images_demo_prior/checkpoints/last.safetensors
[ -f demo_images/cifar-10-batches-py/test_batch ] || $V corpus images demo_images
[ -f $CK ] || $V train recipes/images_demo.yaml --set "train.max_minutes=$MIN"
[ -f $VCK ] || $V train recipes/images_demo_vae.yaml --set "train.max_minutes=$MIN"
[ -f $PCK ] || $V train recipes/images_demo_prior.yaml --set "train.max_minutes=$MIN" --set "data.vqvae=$CK"
mkdir -p $RUN/report
$V evaluate demo_images -c $CK --prior $PCK --vae $VCK --json $RUN/report/evaluate.json --md $RUN/report/evaluate.md \
    --out-dir $RUN/report --max-items 500
$V sample -c $PCK -n 16 -o $RUN/report/samples.png
.venv/bin/python scripts/report_images.py $RUN runs/images_demo_vae runs/images_demo_prior $RUN/report/curves.png
{ echo "# vqspeech image demo"; echo; cat $RUN/report/evaluate.md; echo; echo "Reconstructions (originals above, decoded below):"; echo; echo "![reconstructions](reconstructions.png)"; echo; echo "PixelCNN prior samples, decoded:"; echo; echo "![samples](samples.png)"; echo; echo "Training curves:"; echo; echo "![training curves](curves.png)"; } \
    > $RUN/report/report.md
$V report $RUN
echo "report: $RUN/report.html and $RUN/report/report.md"
