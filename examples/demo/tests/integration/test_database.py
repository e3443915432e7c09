"""Integration tests: under a folder named `integration`, so `dbtest unit` leaves them out."""
import asyncio

from dbtest import TestSuite, test

from demo_app import UserStore


class DatabaseTests(TestSuite):
    async def setup_suite(self):
        await asyncio.sleep(0.05)  # connect
        self.store = UserStore()
        self.store.add("carol", 41)

    async def teardown_suite(self):
        await asyncio.sleep(0.01)  # disconnect

    @test(tags=["integration"])
    async def round_trip(self):
        assert (await self.store.fetch("carol"))["age"] == 41

    @test(tags=["integration"])
    async def missing_user_is_none(self):
        assert await self.store.fetch("nobody") is None
