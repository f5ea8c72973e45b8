#!/usr/bin/env bash
# Runs every ExchangeHealth test on a fresh machine: installs what the tests need, builds in
# Release, runs the xUnit suites and prints a closing line "N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

# Debian packages the tests need (real components, not mocks): prometheus (with promtool) for the
# telemetry tests (a real Prometheus server, `promtool check metrics`), the alert-rule tests
# (`promtool check rules`, `promtool test rules`) and the differential test of our rule evaluation;
# prometheus-alertmanager (with amtool) for the routing tests (`amtool check-config`,
# `amtool config routes test`), the SLO inhibition tests, the webhook
# payload tests and the Alertmanager intake test; postgresql (server binaries in
# /usr/lib/postgresql/15/bin) for the incident-store tests, which run the same suite on SQLite and on
# a throwaway PostgreSQL server started on 127.0.0.1 (TestKit PostgresServer); chromium for the
# post-incident report test, which renders the HTML report in a real headless browser through
# Playwright (Playwright's own browser download cannot work offline; its node driver comes with the
# NuGet package, copied to the test output's .playwright folder at build); stress-ng for the CPU
# starvation fault (src/Chaos/Faults/StressNg.cs and its tests).
packages=(prometheus prometheus-alertmanager postgresql chromium stress-ng)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET SDK 10 (dotnet) is required" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -d "$root/../shared/data" ]; then
  echo "test.sh: warning: ../shared/data not found beside the repository; replay tests need it" >&2
fi

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

echo "test.sh: building (Release)"
if ! dotnet build ExchangeHealth.sln -c Release -nologo -v quiet; then
  echo "test.sh: build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Two passes: every suite but the chaos suite (the projects run in parallel), then the chaos suite
# alone. The chaos suite starts whole platforms (engine, Prometheus, monitors, canary, order flow,
# stress-ng) whose load made the timing-sensitive tests of the other suites flaky when they overlapped.
echo "test.sh: running tests (all suites but the chaos suite)"
dotnet test ExchangeHealth.sln -c Release --no-build -nologo --filter "FullyQualifiedName!~ExchangeHealth.Chaos.Tests" \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results"
status=$?
echo "test.sh: running the chaos suite (platform, faults, runner, shipped experiments 1, 2, 4, 7, 8, 9)"
dotnet test tests/ExchangeHealth.Chaos.Tests/ExchangeHealth.Chaos.Tests.csproj -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results"
chaos_status=$?
if [ "$status" -eq 0 ]; then status=$chaos_status; fi

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"
