"""QA sampling rules from sampling.yaml, validated at load."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

SAMPLING_PATH = Path(__file__).with_name("sampling.yaml")
VERDICTS = ("pass", "fail")


class SamplingRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: str = Field(min_length=1)
    rate: float = Field(gt=0, le=1)
    min_cases: int = Field(ge=1)
    verdicts: dict[str, tuple[str, ...]]

    @model_validator(mode="after")
    def _verdicts(self) -> "SamplingRules":
        if set(self.verdicts) != set(VERDICTS):
            raise ValueError(f"verdicts must list exactly {list(VERDICTS)}, got {sorted(self.verdicts)}")
        spellings = [s.strip().casefold() for values in self.verdicts.values() for s in values]
        if len(spellings) != len(set(spellings)):
            raise ValueError("a verdict spelling is listed under both pass and fail, or twice")
        return self

    def verdict_of(self, typed: str) -> str | None:
        """'pass' / 'fail' for a spelling reviewers may type, else None."""
        wanted = typed.strip().casefold()
        return next((v for v, spellings in self.verdicts.items() if wanted in {s.casefold() for s in spellings}), None)


def load_sampling_rules(path: Path = SAMPLING_PATH) -> SamplingRules:
    from transforms.config_errors import config_errors, parse_yaml

    text = Path(path).read_text(encoding="utf-8")
    with config_errors(path, text):  # one line per problem, naming the file and the field
        return SamplingRules.model_validate(parse_yaml(text))
