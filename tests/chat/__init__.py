import pytest

# The contract suites live outside test_*.py files; rewrite their asserts for clear failures.
pytest.register_assert_rewrite(
    "tests.chat.contract", "tests.chat.contract_search", "tests.chat.contract_robustness"
)
