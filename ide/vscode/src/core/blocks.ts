/** Where resources are written in a source file: what lenses, hovers, diagnostics and quick fixes anchor to. */

export type SourceFormat = "terraform" | "cfn-yaml" | "cfn-json";

/** An insertion the quick fix for missing tags makes: `text(keys)` at `offset`. */
export interface TagInsertion {
  offset: number;
  text: (keys: string[]) => string;
}

export interface SourceBlock {
  format: SourceFormat;
  kind: "resource" | "module";
  /** "aws_instance.web", "module.network", or a CloudFormation logical id. */
  key: string;
  /** The resource type as written ("aws_instance", "AWS::EC2::Instance"); "module" for a module block. */
  type: string;
  /** Offsets of the whole block in the text, end exclusive. */
  start: number;
  end: number;
  /** Offsets of the header (`resource "aws_instance" "web"`, `WebServer:`), where lenses and diagnostics go. */
  headerStart: number;
  headerEnd: number;
  /** A module block's `source`, when it is a literal. */
  moduleSource?: string;
  /** How to add tag keys, when one way is obvious; undefined when it is not (tags from an expression). */
  tagInsertion?: TagInsertion;
}

/** 0-based line and character of an offset. */
export interface Position {
  line: number;
  character: number;
}

export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        this.starts.push(i + 1);
      }
    }
  }

  position(offset: number): Position {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) {
        low = mid;
      } else {
        high = mid - 1;
      }
    }
    return { line: low, character: offset - (this.starts[low] ?? 0) };
  }

  offset(position: Position): number {
    return (this.starts[position.line] ?? this.text.length) + position.character;
  }

  lineText(line: number): string {
    const start = this.starts[line] ?? this.text.length;
    const next = this.starts[line + 1];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, "");
  }
}

/** Offsets of every whole-word occurrence of `word` (an instance type such as m5.large) inside [start, end). */
export function occurrences(text: string, word: string, start = 0, end = text.length): number[] {
  const found: number[] = [];
  const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9._-]/.test(ch);
  let at = text.indexOf(word, start);
  while (at !== -1 && at + word.length <= end) {
    if (!isWordChar(text[at - 1]) && !isWordChar(text[at + word.length])) {
      found.push(at);
    }
    at = text.indexOf(word, at + word.length);
  }
  return found;
}

export function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? "";
}
