// SPDX-License-Identifier: Apache-2.0
// A minimal ERC-20 whose issuer can freeze holders, the way Tether's USDT does: the owner adds an
// address to a blacklist (`addBlackList`), `isBlackListed(address)` reads it, and a blacklisted
// address can no longer send. chaintrail's tests read the freeze status with eth_call.
pragma solidity ^0.8.20;

contract BlacklistToken {
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    address public owner;
    mapping(address => uint256) public balanceOf;
    mapping(address => bool) public isBlackListed;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event AddedBlackList(address indexed holder);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        totalSupply = supply;
        owner = msg.sender;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function addBlackList(address holder) external {
        require(msg.sender == owner, "only the issuer");
        isBlackListed[holder] = true;
        emit AddedBlackList(holder);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(!isBlackListed[msg.sender], "sender is blacklisted");
        require(balanceOf[msg.sender] >= value, "balance exceeded");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }
}
