// SPDX-License-Identifier: Apache-2.0
// Passes the ether it is sent on to another address, as laundering contracts do: the payment to
// the recipient is an internal transfer (a call frame inside the transaction), visible only in
// block traces. If the recipient refuses the ether the whole transaction reverts.
pragma solidity ^0.8.20;

contract Forwarder {
    event Forwarded(address indexed from, address indexed to, uint256 value);

    function forward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
        emit Forwarded(msg.sender, to, msg.value);
    }

    /// Splits the ether sent evenly between two recipients (two internal transfers).
    function split(address payable a, address payable b) external payable {
        uint256 half = msg.value / 2;
        (bool okA, ) = a.call{value: half}("");
        (bool okB, ) = b.call{value: msg.value - half}("");
        require(okA && okB, "split failed");
    }
}
