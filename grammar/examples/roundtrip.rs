fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (file, diags) = qlp_grammar::parse_file(&text, qlp_grammar::FileId(0));
    for d in &diags {
        println!("{:?}", d);
    }
    print!("{}", qlp_grammar::print_file(&file));
}
