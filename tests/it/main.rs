mod grammar;
mod normal;
mod roundtrip;
