import { STATUS_FUNCTIONS } from './functions.js';
import type { Node } from './parser.js';

/** Visits every node of the tree, parents before children. */
export function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  switch (node.type) {
    case 'property':
    case 'wildcard':
      walk(node.object, visit);
      break;
    case 'index':
      walk(node.object, visit);
      walk(node.index, visit);
      break;
    case 'call':
      for (const arg of node.args) walk(arg, visit);
      break;
    case 'not':
      walk(node.operand, visit);
      break;
    case 'compare':
    case 'logical':
      walk(node.left, visit);
      walk(node.right, visit);
      break;
    default:
      break;
  }
}

export function callsStatusFunction(node: Node): boolean {
  let found = false;
  walk(node, (n) => {
    if (n.type === 'call' && STATUS_FUNCTIONS.has(n.name)) found = true;
  });
  return found;
}
