# Guest agent build rules.
.PHONY: test-agent
