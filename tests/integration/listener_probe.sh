#!/bin/bash
# The context-window lookup a listener turn makes beside its chat, racing
# it both ways, against every OpenAI-compatible double and the listener
# configured as LM Studio, whose lookup may need a second request (an LM
# Studio without /api/v0 falls back to /v1/models). A turn that ends before
# its lookup, one that ends after it, and one that waits on it must each be
# answered, and the process must stay clean under the sanitizers.
. "$TESTS_DIR/lib.sh"

MODELS='[{"name":"llama3.2","context_length":4096}]'
chat_body() { printf '{"model":"llama3.2","messages":[{"role":"user","content":"%s"}]}' "$1"; }
# A history too long for a 2048-token window: the turn waits on the lookup.
long_body() {
	local pad
	pad=$(head -c 9000 /dev/zero | tr '\0' 'a')
	printf '{"model":"llama3.2","messages":[{"role":"user","content":"%s"},{"role":"assistant","content":"ok"},{"role":"user","content":"%s"}]}' "$pad" "$1"
}
post() { curl -s -m 20 -o "$T_DIR/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "$1/v1/chat/completions"; }
content() { jq -r '.choices[0].message.content' "$T_DIR/body"; }
alive() { kill -0 "$1" 2>/dev/null; }

n=0
for flavor in openai lmstudio llamaserver; do
	for race in lookup-late chat-late; do
		n=$((n + 1))
		case $race in
		lookup-late) scen='{"models":'"$MODELS"',"models_delay_ms":1500,"chat":{"echo":true}}' ;;
		chat-late) scen='{"models":'"$MODELS"',"chat":{"echo":true,"first_byte_delay_ms":600}}' ;;
		esac
		start_fake "F$n" "$flavor" "$scen" || exit 1
		u="F${n}_URL"
		start_serve "S$n" --auth lm-studio --base-url "${!u}" --listen 127.0.0.1:0 || exit 1
		su="S${n}_URL" sp="S${n}_PID" se="S${n}_ERR"
		code=$(post "${!su}" "$(chat_body one)")
		expect_eq "$flavor, $race: a short turn is answered" "200 echo: one" "$code $(content)"
		code=$(post "${!su}" "$(chat_body two)")
		expect_eq "$flavor, $race: the next turn too" "200 echo: two" "$code $(content)"
		code=$(post "${!su}" "$(long_body three)")
		expect_eq "$flavor, $race: a long history waits on the lookup and is answered" "200 echo: three" "$code $(content)"
		# the lookups still under way when a turn ended are let go: give
		# them time to finish, then the process must still serve
		lu="F${n}_LOG"
		wait_for 10 test "$(grep -c '"/v1/models"' "${!lu}")" -ge 1 || true
		code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "${!su}/health")
		expect_eq "$flavor, $race: the listener is still up" "200" "$code"
		check "$flavor, $race: no sanitizer report" test -z "$(grep -E 'ERROR: AddressSanitizer|runtime error' "${!se}")"
		kill -TERM "${!sp}"
		wait "${!sp}"
		expect_eq "$flavor, $race: a clean exit on SIGTERM" "0" "$?"
		check "$flavor, $race: still no sanitizer report after exit" test -z "$(grep -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "${!se}")"
	done
done
done_testing
