#!/bin/sh
# Prove that this installation answers offline: ingest the bundled sample articles into a
# throwaway data directory (embedded Chroma, SQLite catalog: never the shared stores) and
# ask one question. Exits non-zero unless the answer gives the bridge's new reopening date.
# Run at image build time, and by hand: docker run --rm --entrypoint articlebot-smoke IMAGE
set -eu
samples="${ARTICLEBOT_SMOKE_SAMPLES:-/usr/local/share/articlebot/samples/articles}"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT INT TERM
run() {
    env -u CHROMA_HOST -u ARTICLEBOT_DATABASE_URL -u OPENAI_API_KEY -u OPENAI_BASE_URL \
        ARTICLEBOT_DATA_DIR="$data" ARTICLEBOT_ANSWERER=offline \
        articlebot --env-file /dev/null "$@"
}
run ingest "$samples" >/dev/null
answer="$(run ask 'When is the Sallow Street Bridge now expected to reopen?')"
case "$answer" in
*"May 18"*) echo "smoke: ok (ingested the samples offline and answered: May 18)" ;;
*)
    echo "smoke: unexpected answer: $answer" >&2
    exit 1
    ;;
esac
