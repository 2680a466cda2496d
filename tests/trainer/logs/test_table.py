from trainer.logs.table import format_table, format_value


def test_table_is_sorted_with_rules_and_aligned_columns():
    table = format_table({"TotalEnvSteps": 4000, "Evaluation/AverageReturn": 21.5,
                          "Algo": "PPO"})
    lines = table.split("\n")
    assert lines[0] == lines[-1] == "-" * len("Evaluation/AverageReturn") + "  " + "-" * 4
    assert [line.split()[0] for line in lines[1:-1]] == [
        "Algo", "Evaluation/AverageReturn", "TotalEnvSteps"]
    # Numbers are right-aligned, text left-aligned, in one value column.
    assert lines[1] == "Algo".ljust(24) + "  PPO"
    assert lines[2] == "Evaluation/AverageReturn  21.5"
    assert lines[3] == "TotalEnvSteps".ljust(24) + "  4000"


def test_floats_have_six_significant_digits():
    assert format_value(1 / 3) == "0.333333"
    assert format_value(1234567.0) == "1.23457e+06"
    assert format_value(7) == "7"
    assert format_value(float("nan")) == "nan"


def test_empty_row_is_empty_string():
    assert format_table({}) == ""
