// Prompts of random words, different for every iteration, so no two requests share a prefix.

const words: readonly string[] = [
  'time', 'little', 'house', 'river', 'garden', 'friend', 'sun', 'tree', 'happy', 'found', 'played', 'morning',
  'bird', 'big', 'small', 'went', 'dog', 'cat', 'ball', 'red', 'blue', 'green', 'walked', 'saw', 'day', 'night',
  'moon', 'star', 'park', 'school', 'book', 'water', 'boat', 'cake', 'girl', 'boy', 'mother', 'father', 'sky',
];

export function randomPrompt(count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(words[Math.floor(Math.random() * words.length)] ?? 'word');
  }

  return parts.join(' ');
}
