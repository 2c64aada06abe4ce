from __future__ import annotations

from faq.evaluate import keep_other_languages
from faq.models import Calibration, LanguageCalibration


def test_recalibrating_one_language_keeps_the_others():
    old = Calibration(
        {"en": LanguageCalibration(0.6, 0.53), "zh": LanguageCalibration(0.3, 0.50)},
        model="m",
        notes={"en": {"tuning_queries": 95}, "zh": {"tuning_queries": 97}},
    )
    new = Calibration(
        {"en": LanguageCalibration(0.75, 0.64), "zh": LanguageCalibration(0.1, 0.51)},
        model="m",
        notes={"en": {"tuning_queries": 82}, "zh": {"tuning_queries": 247}, "tuned_on": "x"},
    )
    kept = keep_other_languages(new, old, ["zh"])
    assert kept.per_language == {"en": old.per_language["en"], "zh": new.per_language["zh"]}
    assert kept.notes == {"en": old.notes["en"], "zh": new.notes["zh"], "tuned_on": "x"}
    assert keep_other_languages(new, old, ["en", "zh"]).per_language == new.per_language
