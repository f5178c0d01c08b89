<?php
// The orders of the seed's web shop, as the producers of these tests send them: order $i of
// a run with references PREFIX-i, carriers and amounts in turn, and three kinds of broken
// messages (not JSON, a missing key, an invalid phone number).

function shop_order(string $prefix, int $i): string {
    $prefixes = ['138', '139', '150', '130', '131', '186', '133', '153', '189'];
    $amounts = [1000, 2000, 3000, 5000, 10000, 20000];
    return json_encode([
        'client_ref' => "$prefix-$i",
        'phone' => $prefixes[$i % count($prefixes)] . sprintf('%08d', $i % 100000000),
        'amount_fen' => $amounts[$i % count($amounts)],
    ]);
}

function broken_message(string $prefix, int $i): string {
    $broken = [
        '{"client_ref": "' . $prefix . '-bad-json", "phone": ',
        json_encode(['client_ref' => "$prefix-no-amount", 'phone' => '13800138000']),
        json_encode(['client_ref' => "$prefix-bad-phone", 'phone' => '12345', 'amount_fen' => 1000]),
    ];
    return $broken[$i % count($broken)];
}
