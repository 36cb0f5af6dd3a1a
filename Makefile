# Targets match the README. Each one sets up .venv on first use.
.PHONY: demo test unit integration browser lint bench clean

demo:          ## set up and run the whole system
	scripts/demo.sh

test:          ## set up and run every test (the CI command)
	scripts/test.sh

unit:
	scripts/test.sh tests/unit

integration:
	scripts/test.sh -m integration

browser:
	scripts/test.sh tests/browser

lint:
	scripts/bootstrap.sh all
	.venv/bin/ruff check src tests
	.venv/bin/ruff format --check src tests
	.venv/bin/mypy

bench:
	scripts/bootstrap.sh all
	.venv/bin/fraudguard bench

clean:
	rm -rf .venv .pytest_cache .fraudguard-test build dist
