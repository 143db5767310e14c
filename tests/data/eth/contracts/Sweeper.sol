// SPDX-License-Identifier: Apache-2.0
// Created with ether and destroyed in its own constructor, paying everything to `to`: a
// one-shot contract that moves funds without a call (a creation frame with a value, then a
// self-destruct), which only block traces show.
pragma solidity ^0.8.20;

contract Sweeper {
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
