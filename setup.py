"""Installation script for the isaaclab_gr00t Isaac Lab extension."""

import os

import tomllib
from setuptools import find_packages, setup

EXTENSION_PATH = os.path.dirname(os.path.realpath(__file__))
with open(os.path.join(EXTENSION_PATH, "extension.toml"), "rb") as f:
    EXTENSION_TOML = tomllib.load(f)

INSTALL_REQUIRES = [
    "isaaclab==3.0.0",
    "peft>=0.13",
    "matplotlib",
    "imageio",
    # GR00T datasets (LeRobot v2): parquet tables and h264 videos
    "pyarrow>=15",
    "av>=12",
    # build-time packages of the bundled Franka Panda (isaaclab_gr00t/assets/franka.py): the Panda MJCF and
    # meshes ship in gymnasium-robotics; mujoco-usd-converter 0.6.1 is the release for Isaac Lab's mujoco 3.12
    "gymnasium-robotics==1.4.2",
    "mujoco-usd-converter==0.6.1",
    "numpy-stl",
    "python-utils",
    "tinyobjloader==2.0.0rc13",
]
EXTRAS_REQUIRE = {"test": ["pytest>=8", "pytest-timeout"]}

setup(
    name="isaaclab_gr00t",
    version=EXTENSION_TOML["package"]["version"],
    description=EXTENSION_TOML["package"]["description"],
    keywords=EXTENSION_TOML["package"]["keywords"],
    python_requires="==3.12.*",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    packages=find_packages(include=["isaaclab_gr00t", "isaaclab_gr00t.*"]),
    include_package_data=True,
    package_data={"isaaclab_gr00t": ["assets/data/*"]},
    data_files=[
        ("share/isaaclab_gr00t/tasks", [os.path.join("tasks", f) for f in sorted(os.listdir("tasks")) if f.endswith(".yaml")]),
        ("share/isaaclab_gr00t/agents", [os.path.join("agents", f) for f in sorted(os.listdir("agents")) if f.endswith(".yaml")]),
    ],
    entry_points={
        "isaaclab.tasks": ["isaaclab_gr00t = isaaclab_gr00t.registration"],
        "console_scripts": ["isaaclab-gr00t-gym = isaaclab_gr00t.gym.cli:main"],
    },
    zip_safe=False,
)
