"""A suite with hooks, sync and async tests, tags and a skip."""
from dbtest import TestSuite, expect, test

from demo_app import UserStore


class UserTests(TestSuite):
    async def setup_suite(self):
        # Once for the suite: the expensive shared resource.
        self.store = UserStore()

    def setup(self):
        # Before each test: a clean slate.
        self.store.users.clear()
        self.store.add("alice", 30)

    @test(tags=["unit"])
    def adds_a_user(self):
        user = self.store.add("bob", 25)
        assert user == {"name": "bob", "age": 25}

    @test(tags=["unit"])
    def rejects_duplicates(self):
        expect(lambda: self.store.add("alice", 31)).to_raise(ValueError, match="exists")

    @test(tags=["unit"], timeout=2.0)
    async def fetches_a_user(self):
        user = await self.store.fetch("alice")
        expect(user["age"]).to_equal(30)

    @test(skip="needs a license server")
    def exports_to_ldap(self):
        raise RuntimeError("never runs")
