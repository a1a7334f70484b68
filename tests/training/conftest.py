import pytest


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    """Three phantom patients (12 images) at a coarse spacing, rendered once per test session."""
    from sharpscore.training.data import PhantomSource

    cache = tmp_path_factory.mktemp("phantoms")
    src = PhantomSource(n=3, seed=5, cache_dir=str(cache), acquisition={"spacing_mm": [0.25, 0.25]})
    src.samples()
    return src
