"""A tiny user store standing in for a real application."""
import asyncio


class UserStore:
    def __init__(self):
        self.users = {}

    def add(self, name, age):
        if name in self.users:
            raise ValueError(f"user {name!r} exists")
        self.users[name] = {"name": name, "age": age}
        return self.users[name]

    async def fetch(self, name):
        await asyncio.sleep(0.05)  # stands in for a database round trip
        return self.users.get(name)


def parse_config(text):
    """Parse `key = value` lines."""
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out
