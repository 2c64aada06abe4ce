"""A small hand-made catalogue (two sockets, both memory generations, three case sizes, coolers
tied to a socket by name) and its stock, so that the planner's answers can be checked against an
exhaustive search in milliseconds."""

from __future__ import annotations

import pytest

from catalog.models import Product

STORE = 1234


def _part(
    sku: str, part_type: str, name: str, price: float, brand: str | None = None, **attributes
) -> Product:
    return Product(
        sku=sku,
        name=name,
        brand=brand,
        price=price,
        category_id="abcat0507000",
        part_type=part_type,
        attributes=attributes,
    )


def catalogue() -> list[Product]:
    cpu = lambda sku, name, price, brand, **a: _part(sku, "cpu", name, price, brand, **a)  # noqa: E731
    return [
        cpu(
            "T-CPU-A1",
            "AMD Ryzen 5 7600",
            190,
            "AMD",
            core_count=6,
            boost_clock=5100,
            microarchitecture="Zen 4",
            socket="AM5",
            tdp=65,
            integrated_graphics="Radeon",
            has_integrated_graphics=True,
        ),
        cpu(
            "T-CPU-A2",
            "AMD Ryzen 7 9700X",
            320,
            "AMD",
            core_count=8,
            boost_clock=5500,
            microarchitecture="Zen 5",
            socket="AM5",
            tdp=120,
            has_integrated_graphics=False,
        ),
        cpu(
            "T-CPU-I1",
            "Intel Core i5-14400",
            200,
            "Intel",
            core_count=10,
            boost_clock=4700,
            microarchitecture="Raptor Lake Refresh",
            socket="LGA1700",
            tdp=65,
            integrated_graphics="Intel UHD Graphics 730",
            has_integrated_graphics=True,
        ),
        cpu(
            "T-CPU-I2",
            "Intel Core i7-14700K",
            380,
            "Intel",
            core_count=20,
            boost_clock=5600,
            microarchitecture="Raptor Lake Refresh",
            socket="LGA1700",
            tdp=125,
            integrated_graphics="Intel UHD Graphics 770",
            has_integrated_graphics=True,
        ),
        _part(
            "T-MB-A1",
            "motherboard",
            "MSI B650 ATX",
            150,
            "MSI",
            socket="AM5",
            form_factor="ATX",
            memory_type="DDR5",
            max_memory=192,
            memory_slots=4,
            wifi=False,
            color="Black",
        ),
        _part(
            "T-MB-A2",
            "motherboard",
            "Asus B650-I WIFI",
            210,
            "Asus",
            socket="AM5",
            form_factor="Mini ITX",
            memory_type="DDR5",
            max_memory=96,
            memory_slots=2,
            wifi=True,
            color="White",
        ),
        _part(
            "T-MB-I1",
            "motherboard",
            "Gigabyte B760M DDR5",
            130,
            "Gigabyte",
            socket="LGA1700",
            form_factor="Micro ATX",
            memory_type="DDR5",
            max_memory=192,
            memory_slots=4,
            wifi=True,
            color="Black",
        ),
        _part(
            "T-MB-I2",
            "motherboard",
            "ASRock B760 DDR4",
            110,
            "ASRock",
            socket="LGA1700",
            form_factor="ATX",
            memory_type="DDR4",
            max_memory=128,
            memory_slots=4,
            wifi=False,
            color="Black",
        ),
        _part(
            "T-RAM-1",
            "memory",
            "Corsair 32 GB DDR5 white",
            110,
            "Corsair",
            memory_type="DDR5",
            speed=6000,
            module_count=2,
            module_size=16,
            capacity=32,
            color="White",
        ),
        _part(
            "T-RAM-2",
            "memory",
            "Kingston 32 GB DDR5",
            90,
            "Kingston",
            memory_type="DDR5",
            speed=5600,
            module_count=2,
            module_size=16,
            capacity=32,
            color="Black",
        ),
        _part(
            "T-RAM-3",
            "memory",
            "Crucial 16 GB DDR4",
            40,
            "Crucial",
            memory_type="DDR4",
            speed=3200,
            module_count=2,
            module_size=8,
            capacity=16,
            color="Black",
        ),
        _part(
            "T-RAM-4",
            "memory",
            "G.Skill 128 GB DDR5",
            330,
            "G.Skill",
            memory_type="DDR5",
            speed=6000,
            module_count=4,
            module_size=32,
            capacity=128,
            color="Black",
        ),
        _part(
            "T-SSD-1",
            "internal-hard-drive",
            "Samsung 990 1 TB",
            90,
            "Samsung",
            capacity=1000,
            storage_type="SSD",
            nvme=True,
        ),
        _part(
            "T-SSD-2",
            "internal-hard-drive",
            "Crucial MX 500 GB",
            45,
            "Crucial",
            capacity=500,
            storage_type="SSD",
            nvme=False,
        ),
        _part(
            "T-HDD-1", "internal-hard-drive", "Seagate 2 TB", 55, "Seagate", capacity=2000, storage_type="HDD"
        ),
        _part(
            "T-GPU-1",
            "video-card",
            "MSI Ventus (GeForce RTX 4060)",
            300,
            "MSI",
            chipset="GeForce RTX 4060",
            gpu_maker="NVIDIA",
            color="Black",
        ),
        _part(
            "T-GPU-2",
            "video-card",
            "Sapphire Pulse (Radeon RX 7800 XT)",
            480,
            "Sapphire",
            chipset="Radeon RX 7800 XT",
            gpu_maker="AMD",
            color="Black",
        ),
        _part(
            "T-GPU-3",
            "video-card",
            "Asus TUF (GeForce RTX 4090)",
            1800,
            "Asus",
            chipset="GeForce RTX 4090",
            gpu_maker="NVIDIA",
            color="Black",
        ),
        _part(
            "T-GPU-4",
            "video-card",
            "Zotac White (GeForce RTX 4070)",
            560,
            "Zotac",
            chipset="GeForce RTX 4070",
            gpu_maker="NVIDIA",
            color="White",
        ),
        _part(
            "T-PSU-1",
            "power-supply",
            "EVGA 450 BR",
            45,
            "EVGA",
            wattage=450,
            efficiency="80+ Bronze",
            color="Black",
        ),
        _part(
            "T-PSU-2",
            "power-supply",
            "Corsair RM650 white",
            95,
            "Corsair",
            wattage=650,
            efficiency="80+ Gold",
            color="White",
        ),
        _part(
            "T-PSU-3",
            "power-supply",
            "Seasonic 1000 Platinum",
            220,
            "Seasonic",
            wattage=1000,
            efficiency="80+ Platinum",
            color="Black",
        ),
        _part("T-CASE-1", "case", "Fractal Pop Air", 80, "Fractal", case_type="ATX Mid Tower", color="Black"),
        _part("T-CASE-2", "case", "NZXT H1 white", 120, "NZXT", case_type="Mini ITX Tower", color="White"),
        _part(
            "T-CASE-3",
            "case",
            "Cooler Master Q300L",
            40,
            "Cooler Master",
            case_type="MicroATX Mini Tower",
            color="Black",
        ),
        _part(
            "T-CASE-4", "case", "Lian Li white ATX", 110, "Lian Li", case_type="ATX Mid Tower", color="White"
        ),
        _part(
            "T-COOL-1",
            "cpu-cooler",
            "Thermalright AM5 Frost",
            30,
            "Thermalright",
            noise_level=26,
            color="Black",
        ),
        _part(
            "T-COOL-2", "cpu-cooler", "Arctic LGA1700 Freezer", 35, "Arctic", noise_level=22, color="White"
        ),
        _part("T-COOL-3", "cpu-cooler", "Noctua NH-U12A", 110, "Noctua", noise_level=18, color="Brown"),
        _part(
            "T-GPU-OUT",
            "video-card",
            "Out of stock (GeForce RTX 4080)",
            900,
            "PNY",
            chipset="GeForce RTX 4080",
            gpu_maker="NVIDIA",
            color="Black",
        ),
    ]


def stock(location_id: int) -> frozenset[str]:
    """Online: everything but T-GPU-OUT. The store: one Intel platform."""
    skus = {p.sku for p in catalogue()} - {"T-GPU-OUT"}
    if location_id == STORE:
        return frozenset(
            {
                "T-CPU-I1",
                "T-CPU-I2",
                "T-MB-I1",
                "T-RAM-2",
                "T-SSD-2",
                "T-GPU-1",
                "T-PSU-1",
                "T-PSU-3",
                "T-CASE-1",
                "T-CASE-3",
                "T-COOL-2",
            }
        )
    return frozenset(skus) if location_id == 0 else frozenset()


@pytest.fixture(scope="session")
def planner():
    """Whole Pareto fronts (epsilon 0): the planner is then exact, which the exhaustive search checks."""
    from build_planner import Planner

    return Planner(catalogue(), stock, epsilon=0.0)


@pytest.fixture(scope="session")
def parts():
    return {p.sku: p for p in catalogue()}
