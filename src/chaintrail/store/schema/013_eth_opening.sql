-- Balances held before the first ingested block, per (address, asset), as the node answered
-- them: `eth_getBalance` for the native asset, a `balanceOf` eth_call for an ERC-20. The account
-- tracer puts a known opening balance at the front of an address's queue; without one (the row
-- is unknown, or missing) it keeps today's `opening_unknown` shortfall rule.
-- `block_number` is the state the node was asked for: the block before the first stored block
-- (block 0 itself when the store starts at genesis, which holds no transactions). A row read
-- for another block (earlier blocks were ingested later) is not used.
CREATE TABLE eth_opening_balances (
    chain         VARCHAR NOT NULL,
    address       VARCHAR NOT NULL,
    asset         VARCHAR NOT NULL,        -- 'native' or the token contract address
    block_number  BIGINT NOT NULL,
    balance       VARCHAR,                 -- exact decimal text (uint256); NULL when unknown
    status        VARCHAR NOT NULL,        -- 'known' | 'unknown'
    reason        VARCHAR,                 -- why unknown: the node's error, or a bad answer
    provenance_id BIGINT                   -- the node's answer; NULL when its batch stated no balance
);
