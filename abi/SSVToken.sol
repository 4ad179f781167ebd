// SPDX-License-Identifier: Apache-2.0
// The SSV ERC-20 calls ssv-agent makes (approve for v1 registration and legacy top-ups).
pragma solidity ^0.8.24;

interface SSVToken {
    function balanceOf(address account) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function approve(address spender, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
    function mint(address to, uint256 amount) external;
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
}
